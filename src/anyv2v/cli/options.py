"""What every command shares: flags that set config fields, config layering, loading the pipeline."""

from __future__ import annotations

import argparse
import dataclasses
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from anyv2v.acceleration import Speedups
from anyv2v.backbones import BACKBONES, backbone_class
from anyv2v.config import EditConfig, RuntimeConfig, build_configs, read_config_file
from anyv2v.errors import AnyV2VError
from anyv2v.runtime import TOY_MODEL, set_threads


@dataclass(frozen=True)
class Flag:
    """A CLI flag that sets one config field; argparse default None means "keep the preset/file value"."""

    name: str
    section: str
    field: str
    type: Any = None
    help: str = ""
    const: Any = None  # for flags that take no value

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.const is not None:
            parser.add_argument(self.name, dest=self.dest, action="store_const", const=self.const, help=self.help)
        else:
            parser.add_argument(self.name, dest=self.dest, type=self.type, help=self.help, metavar=self.metavar)

    @property
    def dest(self) -> str:
        return f"{self.section}.{self.field}"

    @property
    def metavar(self) -> str:
        """What the value is (STEPS, FRACTION), not where it is stored (SAMPLING.STEPS)."""
        return "FRACTION" if self.section == "injection" else self.field.upper()


FIRST_FRAME_HELP = (
    "'generated' (the model makes frame 0, as in the paper) or 'given' (frame 0 is the edited frame at every step; "
    "the others attend to it)"
)


def injection_flags() -> list[Flag]:
    """One --KIND-injection flag per injection kind any backbone declares (each checked against the chosen
    backbone when the configs are built)."""
    flags: dict[str, Flag] = {}
    for backbone in BACKBONES.values():
        for name, kind in backbone.injection_kinds.items():
            owners = [b.name for b in BACKBONES.values() if name in b.injection_kinds]
            help = f"fraction of steps with {kind.help} ({', '.join(owners)})"
            flags.setdefault(name, Flag(f"--{kind.flag}-injection", "injection", name, float, help))
    return list(flags.values())


RUNTIME_FLAGS = [
    Flag(
        "--model", "runtime", "model", str, "hub id, local diffusers-layout folder, or 'toy' (default: the backbone's)"
    ),
    Flag("--backbone", "runtime", "backbone", str, f"image-to-video model ({', '.join(BACKBONES)}; default i2vgen-xl)"),
    Flag("--variant", "runtime", "variant", str, "weights variant to load, e.g. fp16"),
    Flag("--device", "runtime", "device", str, "cpu, cuda or cuda:N (default: cuda if available)"),
    Flag("--dtype", "runtime", "dtype", str, "float32, float16 or bfloat16 (default: float16 on cuda)"),
    Flag("--offload", "runtime", "offload", help="keep weights on the CPU; each model visits the GPU", const=True),
    Flag(
        "--sequential-offload",
        "runtime",
        "sequential_offload",
        const=True,
        help="keep weights on the CPU; each layer's weights visit the GPU as it runs (least memory, slowest)",
    ),
    Flag(
        "--compile",
        "runtime",
        "compile",
        help="torch.compile the denoiser (faster after minutes of compiling)",
        const=True,
    ),
    Flag("--channels-last", "runtime", "channels_last", help="NHWC convolution weights (GPU speed)", const=True),
    Flag(
        "--attention",
        "runtime",
        "attention",
        str,
        "attention backend: auto, flash, efficient, cudnn or math (default auto: torch picks)",
    ),
    Flag(
        "--cudnn-benchmark",
        "runtime",
        "cudnn_benchmark",
        const=True,
        help="let cuDNN time its convolution algorithms on first use (GPU speed)",
    ),
    Flag(
        "--feed-forward-chunks",
        "runtime",
        "feed_forward_chunks",
        int,
        "run each feed-forward layer on N slices of its tokens: less GPU memory (default 1)",
    ),
    Flag("--seed", "runtime", "seed", int, "random seed (default 0)"),
    Flag(
        "--cache-dir",
        "runtime",
        "cache_dir",
        str,
        "inversion cache (default $ANYV2V_CACHE, else ~/.cache/anyv2v/inversions)",
    ),
    Flag("--no-cache", "runtime", "use_cache", help="neither read nor write the inversion cache", const=False),
    Flag("--quiet", "runtime", "quiet", help="no progress bars or library notices", const=True),
    Flag("--threads", "runtime", "threads", int, "CPU threads (default: the cores other programs leave idle)"),
]
# Their defaults are the preset's (--preset; 'anyv2v backbones' lists each backbone's presets).
VIDEO_FLAGS = [
    Flag("--num-frames", "video", "num_frames", int, "frames of one window (the backbone's native length)"),
    Flag("--fps", "video", "fps", float, "rate the source is sampled at, and the fps condition"),
    Flag("--height", "video", "height", int, "frame height (a multiple the backbone states)"),
    Flag("--width", "video", "width", int, "frame width (a multiple the backbone states)"),
    Flag("--vae-encode", "vae", "encode", str, "'mean' (reproducible) or 'sample' (as the official code)"),
    Flag("--inversion-steps", "inversion", "steps", int, "inversion steps (reference 500, fast 50)"),
    Flag(
        "--inversion-solver",
        "inversion",
        "solver",
        str,
        "'ddim' (the official first order), 'second-order', or 'fixed-point' (retraced exactly by the sampler)",
    ),
    Flag(
        "--inversion-iterations",
        "inversion",
        "iterations",
        int,
        "fixed-point iterations per inversion step, one model call each (Wan's presets 1, else 2)",
    ),
    Flag("--inversion-prompt", "inversion", "prompt", str, "prompt used to invert the source"),
    Flag("--steps", "sampling", "steps", int, "sampling steps (reference 50, fast 25)"),
    Flag("--start-step", "sampling", "start_step", int, "sampling steps skipped at the start"),
]


def frame_count(text: str) -> int | str:
    """--frames: 'all' or a count."""
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'all' nor a frame count") from None


# What `edit` takes of the source and gives back: span, windows, shape, sound.
SPAN_FLAGS = [
    Flag(
        "--frames",
        "video",
        "frames",
        frame_count,
        "frames to edit: 'all' or a count; beyond one window "
        "(--num-frames) the edit runs in overlapping windows (default: one window)",
    ),
    Flag("--start", "video", "start", float, "seconds into the source where the edit starts (default 0)"),
    Flag("--end", "video", "end", float, "seconds into the source where it ends (default: as --frames says)"),
    Flag("--overlap", "video", "overlap", int, "frames consecutive windows share (default 1)"),
    Flag("--window-strategy", "video", "window_strategy", str, "'chain' or 'anchor' (see the README)"),
    Flag("--resize", "video", "resize", str, "'fit' keeps the source's shape (default), 'crop' or 'pad'"),
    Flag("--output-size", "video", "output_size", str, "'edit' (default) or 'source': back to the source's size"),
    Flag("--no-audio", "video", "audio", help="drop the source's sound", const=False),
]
EDIT_FLAGS = [
    Flag("--guidance-scale", "sampling", "guidance_scale", float, "classifier-free guidance scale"),
    Flag("--negative-prompt", "sampling", "negative_prompt", str, "negative prompt"),
    Flag("--init", "sampling", "init", str, "'inverted' or 'noise': where sampling starts"),
    Flag("--eta", "sampling", "eta", float, "fresh noise per step, 0 (deterministic) to 1"),
    Flag("--first-frame", "sampling", "first_frame", str, FIRST_FRAME_HELP),
    *injection_flags(),
    Flag("--no-injection", "injection", "enabled", help="turn off every feature injection", const=False),
    Flag("--decode-chunk-size", "vae", "decode_chunk_size", int, "frames per VAE decode call; lower saves memory"),
]


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes get the same one-line error shape as every other bad input."""

    def error(self, message: str) -> None:
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


class RaisingParser(OneLineParser):
    """For a program that builds command lines itself (the web app): a usage mistake is an AnyV2VError to show,
    not an exit of the whole program."""

    def error(self, message: str) -> NoReturn:
        raise AnyV2VError(message)


def add_config_flags(command: argparse.ArgumentParser, flags: Sequence[Flag], backbone_options: bool = True) -> None:
    presets = sorted({name for backbone in BACKBONES.values() for name in backbone.presets})
    command.add_argument("--config", help="YAML or TOML file with any options; flags override it")
    if backbone_options:
        command.add_argument(
            "--backbone-option", action="append", default=[], metavar="KEY=VALUE",
            help="an option of the chosen backbone, e.g. motion_bucket_id=127 for svd (see 'anyv2v backbones')",
        )  # fmt: skip
    command.add_argument("--preset", choices=presets, help="settings to start from (default: the backbone's, fast)")
    for flag in flags:
        flag.add_to(command)


def flag_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        if "." in dest and value is not None:
            section, field = dest.split(".")
            overrides.setdefault(section, {})[field] = value
    for pair in getattr(args, "backbone_option", []):
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise AnyV2VError(
                f"--backbone-option {pair!r} is not KEY=VALUE: pass e.g. --backbone-option motion_bucket_id=127"
            )
        overrides.setdefault("backbone", {})[key.strip()] = number_or_text(value.strip())
    return overrides


def number_or_text(value: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def backbone_preset(backbone: str, name: str | None) -> EditConfig:
    return backbone_class(backbone).preset(name)


def configs(
    args: argparse.Namespace, preset: str | None = None, adapt: Callable[[EditConfig], EditConfig] | None = None
) -> tuple[EditConfig, RuntimeConfig]:
    """The preset (this command's --preset unless `preset` is given), the --config file, then the flags; the
    result checked against the chosen backbone."""
    file_data = read_config_file(args.config) if args.config else {}
    preset = preset or args.preset or file_data.get("preset")
    edit, runtime = build_configs(backbone_preset, preset, file_data, flag_overrides(args), adapt)
    if runtime.model is None and preset == TOY_MODEL:  # the toy preset is the toy model's settings
        runtime = dataclasses.replace(runtime, model=TOY_MODEL)
    backbone_class(runtime.backbone).check(edit)
    Speedups.of(runtime).validate()
    if runtime.quiet:
        warnings.simplefilter("ignore")
    set_threads(runtime.threads)
    return edit, runtime


def load_pipeline(edit: EditConfig, runtime: RuntimeConfig):
    from anyv2v.pipeline import AnyV2VPipeline

    if runtime.quiet:
        silence_library_output()

    return AnyV2VPipeline.from_pretrained(
        runtime.model,
        backbone=runtime.backbone,
        torch_dtype=runtime.dtype,
        device=runtime.device,
        variant=runtime.variant,
        offload="sequential" if runtime.sequential_offload else runtime.offload,
        speedups=Speedups.of(runtime),
        config=edit,
        cache_dir=runtime.cache_dir,
        use_cache=runtime.use_cache,
        progress=not runtime.quiet,
    )


def silence_library_output() -> None:
    """--quiet also hides diffusers' and transformers' loading bars and notices."""
    import diffusers
    import transformers

    for library in (diffusers, transformers):
        library.utils.logging.set_verbosity_error()
        library.utils.logging.disable_progress_bar()


def check_output_suffix(path: Path, allowed: Sequence[str], what: str) -> None:
    if path.suffix.lower() not in allowed:
        raise AnyV2VError(f"{what} '{path}' must end in {' or '.join(allowed)}: change its file name")
