"""Every number of the AnyV2V recipe, as frozen dataclasses; presets are instances.

A config file (YAML or TOML) holds the same sections and field names as these dataclasses, so the CLI, the
Python API and config files share one source of truth for defaults.
"""

from __future__ import annotations

import dataclasses
import json
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

# (up block index, layer index) pairs of the paper's injection sites.
PAPER_CONV_SITES: tuple[tuple[int, int], ...] = ((1, 1),)
PAPER_ATTENTION_SITES: tuple[tuple[int, int], ...] = (
    (1, 1), (1, 2),
    (2, 0), (2, 1), (2, 2),
    (3, 0), (3, 1), (3, 2),
)  # fmt: skip


@dataclass(frozen=True)
class VideoConfig:
    """Which frames of the source are edited, and at what size."""

    num_frames: int = 16
    fps: float = 8.0  # sampling rate of the source, and the I2V model's fps condition
    height: int = 512
    width: int = 512

    def validate(self) -> None:
        if self.num_frames < 2:
            raise AnyV2VError(f"num_frames is {self.num_frames}: use 2 or more (--num-frames)")
        if self.fps <= 0:
            raise AnyV2VError(f"fps is {self.fps}: use a positive frame rate (--fps)")
        for name in ("height", "width"):
            value = getattr(self, name)
            if value <= 0 or value % 8:
                raise AnyV2VError(
                    f"{name} {value} is not a positive multiple of 8: use e.g. {max(8, round(value / 8) * 8)} "
                    f"(--{name})"
                )


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
    # "ddim" as the paper's code; "second-order" reaches the same latents in far fewer steps (inversion.py)
    solver: Literal["ddim", "second-order"] = "ddim"

    def validate(self) -> None:
        if self.solver not in ("ddim", "second-order"):
            raise AnyV2VError(f"inversion solver is {self.solver!r}: use 'ddim' or 'second-order'")
        if self.steps < 1:
            raise AnyV2VError(f"inversion steps is {self.steps}: use 1 or more (--inversion-steps)")
        if self.guidance_scale < 1:
            raise AnyV2VError(f"inversion guidance is {self.guidance_scale}: use 1 (unguided) or more")


@dataclass(frozen=True)
class InjectionConfig:
    """Which source-branch features replace the edit branches' features, and for what fraction of the steps."""

    conv: float = 0.2
    spatial_attention: float = 0.2
    temporal_attention: float = 0.5
    conv_sites: tuple[tuple[int, int], ...] = PAPER_CONV_SITES
    attention_sites: tuple[tuple[int, int], ...] = PAPER_ATTENTION_SITES
    # The official code counts the skipped first sampling step among the injected ones (one step fewer).
    count_skipped_steps: bool = True

    def validate(self) -> None:
        for name in ("conv", "spatial_attention", "temporal_attention"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise AnyV2VError(f"injection.{name} is {value}: use a fraction of the steps in [0, 1]")

    @property
    def enabled(self) -> bool:
        return max(self.conv, self.spatial_attention, self.temporal_attention) > 0


@dataclass(frozen=True)
class SamplingConfig:
    """The edit branch's DDIM sampling."""

    steps: int = 50
    guidance_scale: float = 9.0
    negative_prompt: str = OFFICIAL_NEGATIVE_PROMPT
    init: Literal["inverted", "noise"] = "inverted"  # start from the inverted source, or from random noise
    start_step: int = 1  # steps skipped at the start when starting from the inverted latents
    eta: float = 0.0

    def validate(self) -> None:
        if self.steps < 1:
            raise AnyV2VError(f"sampling steps is {self.steps}: use 1 or more (--steps)")
        if self.init not in ("inverted", "noise"):
            raise AnyV2VError(f"sampling.init is {self.init!r}: use 'inverted' or 'noise'")
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

    def validate(self) -> EditConfig:
        for section in (self.video, self.vae, self.inversion, self.injection, self.sampling):
            section.validate()
        return self

    @property
    def needs_inversion(self) -> bool:
        return self.sampling.init == "inverted" or self.injection.enabled

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how the model runs; does not change the result beyond float precision."""

    model: str = "ali-vilab/i2vgen-xl"
    backbone: str = "i2vgen-xl"
    variant: str | None = None  # e.g. "fp16" to download the hub's half-precision weights
    device: str | None = None  # default: cuda if available, else cpu
    dtype: Literal["float32", "float16", "bfloat16"] | None = None  # default: float16 on cuda, float32 on cpu
    offload: bool = False
    seed: int = 0
    cache_dir: str | None = None  # default: $ANYV2V_CACHE or ~/.cache/anyv2v
    use_cache: bool = True
    quiet: bool = False


REFERENCE = EditConfig()

# The default: the reference recipe with a tenth of the inversion steps, taken by the second-order solver, and
# half the sampling steps, starting at the reference's first sampled timestep (961: timesteps[0] of 25 steps,
# timesteps[1] of 50). Measured costs and scores against the reference: docs/bench/speed.md.
FAST = dataclasses.replace(
    REFERENCE,
    inversion=dataclasses.replace(REFERENCE.inversion, steps=50, solver="second-order"),
    sampling=dataclasses.replace(REFERENCE.sampling, steps=25, start_step=0),
)


def for_toy_model(config: EditConfig) -> EditConfig:
    """A recipe at the toy model's size (anyv2v/toy), with the empty negative prompt it was trained with and
    the milder guidance it takes; the step counts, injection and everything else stay the recipe's."""
    return dataclasses.replace(
        config,
        video=VideoConfig(num_frames=8, fps=8.0, height=32, width=32),
        sampling=dataclasses.replace(config.sampling, negative_prompt="", guidance_scale=3.0),
    )


DEFAULT_PRESET = "fast"
PRESETS: dict[str, EditConfig] = {"reference": REFERENCE, "fast": FAST, "toy": for_toy_model(FAST)}

SECTIONS: dict[str, type] = {
    "video": VideoConfig,
    "vae": VAEConfig,
    "inversion": InversionConfig,
    "injection": InjectionConfig,
    "sampling": SamplingConfig,
    "runtime": RuntimeConfig,
}


def preset(name: str) -> EditConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise AnyV2VError(f"unknown preset {name!r}: use one of {', '.join(sorted(PRESETS))}") from None


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
    known = {f.name: f for f in dataclasses.fields(config)}
    changes = {}
    for name, value in values.items():
        if name not in known:
            raise AnyV2VError(f"unknown option '{where}.{name}': known options are {', '.join(sorted(known))}")
        if name.endswith("_sites") and value is not None:
            value = tuple(tuple(int(i) for i in pair) for pair in value)
        changes[name] = value
    return dataclasses.replace(config, **changes)


def build_configs(
    preset_name: str | None,
    file_data: dict[str, Any],
    overrides: dict[str, dict[str, Any]],
    adapt: Callable[[EditConfig], EditConfig] | None = None,
) -> tuple[EditConfig, RuntimeConfig]:
    """Preset (passed through `adapt`, e.g. `for_toy_model`), then config file, then explicit overrides
    (CLI flags), each layer replacing the last."""
    file_data = dict(file_data)
    name = preset_name or file_data.pop("preset", None) or DEFAULT_PRESET
    file_data.pop("preset", None)
    edit = preset(name)
    if adapt is not None:
        edit = adapt(edit)
    runtime = RuntimeConfig()
    for layer in (file_data, overrides):
        for section, values in layer.items():
            if section not in SECTIONS:
                raise AnyV2VError(f"unknown config section '{section}': use {', '.join(SECTIONS)}")
            if not isinstance(values, dict):
                raise AnyV2VError(f"config section '{section}' must be a mapping of options")
            if section == "runtime":
                runtime = apply_overrides(runtime, values, section)
            else:
                updated = apply_overrides(getattr(edit, section), values, section)
                edit = dataclasses.replace(edit, **{section: updated})
    return edit.validate(), runtime


def config_fingerprint(*parts: Any) -> str:
    """A stable text form of config values, for cache keys."""
    return json.dumps(parts, sort_keys=True, default=str)
