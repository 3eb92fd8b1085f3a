"""Every number of the AnyV2V recipe, as frozen dataclasses; presets are instances.

A config file (YAML or TOML) holds the same sections and field names as these dataclasses, so the CLI, the
Python API and config files share one source of truth for defaults.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from anyv2v.errors import AnyV2VError

OFFICIAL_NEGATIVE_PROMPT = (
    "Distorted, discontinuous, Ugly, blurry, low resolution, motionless, static, disfigured, "
    "disconnected limbs, Ugly faces, incomplete arms"
)


@dataclass(frozen=True)
class VideoConfig:
    """Which frames of the source are edited, and at what size."""

    num_frames: int = 16  # one window: the backbone's native length
    fps: float = 8.0  # sampling rate of the source, and the I2V model's fps condition
    height: int = 512  # with resize "fit", height x width is the pixel count and the source sets the shape
    width: int = 512
    frames: int | Literal["all"] | None = None  # frames to edit: None = one window; more run in windows
    start: float = 0.0  # seconds into the source
    end: float | None = None  # seconds; None: as many frames as `frames` asks, or to the end with "all"
    overlap: int = 1  # frames shared by consecutive windows
    window_strategy: Literal["chain", "anchor"] = "chain"  # see windows.py
    resize: Literal["fit", "crop", "pad"] = "fit"  # fit: the source's aspect; crop: cover and crop; pad: bars
    output_size: Literal["edit", "source"] = "edit"  # source: scale the result back to the source's size
    audio: bool = True  # copy the source's sound for the edited span

    def validate(self) -> None:
        if self.num_frames < 2:
            raise AnyV2VError(f"num_frames is {self.num_frames}: use 2 or more (--num-frames)")
        if self.fps <= 0:
            raise AnyV2VError(f"fps is {self.fps}: use a positive frame rate (--fps)")
        for name in ("height", "width"):
            if getattr(self, name) <= 0:
                raise AnyV2VError(f"{name} is {getattr(self, name)}: use a positive size in pixels (--{name})")
        if self.frames is not None and self.frames != "all" and (not isinstance(self.frames, int) or self.frames < 2):
            raise AnyV2VError(f"frames is {self.frames!r}: use 'all' or a count of 2 or more (--frames)")
        if self.start < 0 or (self.end is not None and self.end <= self.start):
            raise AnyV2VError(
                f"the span {self.start:g} s to {self.end} s is empty or negative: use 0 <= --start < --end"
            )
        if not 0 < self.overlap < self.num_frames:
            raise AnyV2VError(f"overlap is {self.overlap}: use 1 to {self.num_frames - 1} frames (--overlap)")
        for name, allowed in (("window_strategy", ("chain", "anchor")), ("resize", ("fit", "crop", "pad")),
                              ("output_size", ("edit", "source"))):  # fmt: skip
            if getattr(self, name) not in allowed:
                raise AnyV2VError(f"{name} is {getattr(self, name)!r}: use one of {', '.join(allowed)}")


@dataclass(frozen=True)
class VAEConfig:
    """How frames enter and leave latent space."""

    encode: Literal["mean", "sample"] = "mean"  # the official code samples the posterior; the mean is repeatable
    decode_chunk_size: int = 8  # frames per VAE decode call: lower it to save memory

    def validate(self) -> None:
        if self.encode not in ("mean", "sample"):
            raise AnyV2VError(f"vae.encode is {self.encode!r}: use 'mean' or 'sample'")
        if self.decode_chunk_size < 1:
            raise AnyV2VError(f"decode_chunk_size is {self.decode_chunk_size}: use 1 or more")


@dataclass(frozen=True)
class InversionConfig:
    """Inversion of the source video."""

    steps: int = 500
    prompt: str = ""
    guidance_scale: float = 1.0  # 1 = unguided, as in the paper
    # "ddim" as the paper's code; "second-order" reaches the same latents in far fewer steps; "fixed-point"
    # the latents the first-order sampler steps back from exactly (inversion.py)
    solver: Literal["ddim", "second-order", "fixed-point"] = "ddim"
    iterations: int = 2  # the fixed-point solver's, one model call each per step

    def validate(self) -> None:
        if self.solver not in ("ddim", "second-order", "fixed-point"):
            raise AnyV2VError(f"inversion solver is {self.solver!r}: use 'ddim', 'second-order' or 'fixed-point'")
        if self.iterations < 0:
            raise AnyV2VError(f"inversion iterations is {self.iterations}: use 0 or more (--inversion-iterations)")
        if self.steps < 1:
            raise AnyV2VError(f"inversion steps is {self.steps}: use 1 or more (--inversion-steps)")
        if self.guidance_scale < 1:
            raise AnyV2VError(f"inversion guidance is {self.guidance_scale}: use 1 (unguided) or more")


@dataclass(frozen=True)
class InjectionConfig:
    """Which source-branch features replace the edit branches' own, for what fraction of the sampling steps.

    The kinds are the backbone's (`anyv2v backbones` lists them); a kind left out of `fractions` or `sites`
    takes the backbone's declared default.
    """

    fractions: dict[str, float] = field(default_factory=dict)  # kind -> fraction of the sampling steps
    sites: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> module-name patterns
    enabled: bool = True  # False: no injection at all (--no-injection)
    # The official code counts the skipped first sampling step among the injected ones (one step fewer).
    count_skipped_steps: bool = True

    def validate(self) -> None:
        for kind, value in self.fractions.items():
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise AnyV2VError(f"injection.{kind} is {value}: use a fraction of the steps in [0, 1]")
        for kind, patterns in self.sites.items():
            if isinstance(patterns, str) or not all(isinstance(p, str) for p in patterns):
                raise AnyV2VError(
                    f"injection.{kind}_sites is {patterns!r}: use a list of module names or patterns, "
                    "e.g. ['up_blocks.1.resnets.1.conv2']"
                )


@dataclass(frozen=True)
class SamplingConfig:
    """The edit branch's DDIM sampling."""

    steps: int = 50
    guidance_scale: float = 9.0
    negative_prompt: str = OFFICIAL_NEGATIVE_PROMPT
    init: Literal["inverted", "noise"] = "inverted"  # start from the inverted source, or from random noise
    start_step: int = 1  # steps skipped at the start when starting from the inverted latents
    eta: float = 0.0
    # "given": every step's clean estimate of frame 0 is the edited frame's latent, so the output opens on the
    # edited frame itself and the later frames attend to it; "generated": the model makes frame 0 (the paper)
    first_frame: Literal["generated", "given"] = "generated"

    def validate(self) -> None:
        if self.steps < 1:
            raise AnyV2VError(f"sampling steps is {self.steps}: use 1 or more (--steps)")
        if self.init not in ("inverted", "noise"):
            raise AnyV2VError(f"sampling.init is {self.init!r}: use 'inverted' or 'noise'")
        if self.first_frame not in ("generated", "given"):
            raise AnyV2VError(f"sampling.first_frame is {self.first_frame!r}: use 'generated' or 'given'")
        if not 0 <= self.start_step < self.steps:
            raise AnyV2VError(
                f"start_step {self.start_step} is outside the {self.steps} sampling steps: use 0..{self.steps - 1}"
            )
        if self.guidance_scale < 1:
            raise AnyV2VError(f"guidance scale is {self.guidance_scale}: use 1 (no guidance) or more")


@dataclass(frozen=True)
class EditConfig:
    """Everything that decides the edited video, given the model, the inputs and the seed."""

    video: VideoConfig = field(default_factory=VideoConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    inversion: InversionConfig = field(default_factory=InversionConfig)
    injection: InjectionConfig = field(default_factory=InjectionConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    # Options only one backbone has (SVD's motion_bucket_id, ...); `anyv2v backbones` lists them, and the
    # backbone refuses names it does not know.
    backbone: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> EditConfig:
        for section in (self.video, self.vae, self.inversion, self.injection, self.sampling):
            section.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how the model runs; does not change the result beyond float precision."""

    model: str | None = None  # hub id or local folder; default: the backbone's own default model
    backbone: str = "i2vgen-xl"
    variant: str | None = None  # e.g. "fp16" to download the hub's half-precision weights
    device: str | None = None  # default: cuda if available, else cpu
    dtype: Literal["float32", "float16", "bfloat16"] | None = None  # default: float16 on cuda, float32 on cpu
    offload: bool = False  # each model moves to the GPU only while it runs
    sequential_offload: bool = False  # each layer's weights stream to the GPU as it runs: least memory, slowest
    compile: bool = False  # the speed switches of anyv2v/acceleration.py
    channels_last: bool = False
    attention: str = "auto"
    cudnn_benchmark: bool = False
    feed_forward_chunks: int = 1
    seed: int = 0
    cache_dir: str | None = None  # default: $ANYV2V_CACHE or ~/.cache/anyv2v
    use_cache: bool = True
    quiet: bool = False
    threads: int | None = None  # CPU threads for torch; default: the cores left idle by other programs


SECTIONS: dict[str, type] = {
    "video": VideoConfig,
    "vae": VAEConfig,
    "inversion": InversionConfig,
    "injection": InjectionConfig,
    "sampling": SamplingConfig,
    "backbone": dict,
    "runtime": RuntimeConfig,
}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML or TOML config file into {section: {field: value}} (plus an optional 'preset')."""
    path = Path(path)
    if not path.is_file():
        raise AnyV2VError(f"config file '{path}' not found: check the path given to --config")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = _toml_loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise AnyV2VError(f"config file '{path}' must end in .yaml, .yml or .toml")
    except AnyV2VError:
        raise
    except Exception as error:  # tomllib and yaml raise unrelated error types
        raise AnyV2VError(f"config file '{path}' could not be parsed ({error}): fix its syntax") from None
    if not isinstance(data, dict):
        raise AnyV2VError(f"config file '{path}' must hold a mapping of sections: see the README")
    return data


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    return tomllib.loads(text)


def apply_overrides(config: Any, values: dict[str, Any], where: str) -> Any:
    """Return `config` with fields replaced by `values`; unknown fields are errors naming the known ones."""
    if isinstance(config, InjectionConfig):
        return _apply_injection_overrides(config, values)
    if isinstance(config, dict):  # the backbone's own options, checked by the backbone
        return {**config, **values}
    known = {f.name for f in dataclasses.fields(config)}
    for name in values:
        if name not in known:
            raise AnyV2VError(f"unknown option '{where}.{name}': known options are {', '.join(sorted(known))}")
    return dataclasses.replace(config, **values)


def _apply_injection_overrides(config: InjectionConfig, values: dict[str, Any]) -> InjectionConfig:
    """Besides its fields, the injection section takes `KIND: fraction` and `KIND_sites: [patterns]` for the
    backbone's kinds (checked against the backbone when it is known)."""
    fields = {f.name for f in dataclasses.fields(config)}
    fractions, sites = dict(config.fractions), dict(config.sites)
    changes = {}
    for name, value in values.items():
        if name in fields:
            changes[name] = value
        elif name.endswith("_sites"):
            sites[name.removesuffix("_sites")] = tuple(value) if isinstance(value, list) else value
        else:
            fractions[name] = value
    return dataclasses.replace(config, **{"fractions": fractions, "sites": sites, **changes})


def build_configs(
    preset_of: Callable[[str, str | None], EditConfig],
    preset_name: str | None,
    file_data: dict[str, Any],
    overrides: dict[str, dict[str, Any]],
    adapt: Callable[[EditConfig], EditConfig] | None = None,
) -> tuple[EditConfig, RuntimeConfig]:
    """The runtime settings first (they pick the backbone), then the backbone's preset (`preset_of(backbone,
    name)`, passed through `adapt`), then the config file, then explicit overrides (CLI flags), each layer
    replacing the last."""
    file_data = dict(file_data)
    name = preset_name or file_data.pop("preset", None)
    file_data.pop("preset", None)
    for layer in (file_data, overrides):
        for section, values in layer.items():
            if section not in SECTIONS:
                raise AnyV2VError(f"unknown config section '{section}': use {', '.join(SECTIONS)}")
            if not isinstance(values, dict):
                raise AnyV2VError(f"config section '{section}' must be a mapping of options")
    runtime = RuntimeConfig()
    for layer in (file_data, overrides):
        runtime = apply_overrides(runtime, layer.get("runtime", {}), "runtime")
    edit = preset_of(runtime.backbone, name)
    if adapt is not None:
        edit = adapt(edit)
    for layer in (file_data, overrides):
        for section, values in layer.items():
            if section != "runtime":
                edit = dataclasses.replace(edit, **{section: apply_overrides(getattr(edit, section), values, section)})
    return edit.validate(), runtime
