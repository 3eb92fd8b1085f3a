"""The `anyv2v` command line: `edit` and `invert`. Flags map onto the config dataclasses' fields."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from anyv2v.config import PRESETS, EditConfig, RuntimeConfig, build_configs, read_config_file
from anyv2v.errors import AnyV2VError
from anyv2v.video import PREVIEW_SUFFIXES, VIDEO_SUFFIXES, read_image, read_video, write_preview, write_video


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
            parser.add_argument(self.name, dest=self.dest, type=self.type, help=self.help)

    @property
    def dest(self) -> str:
        return f"{self.section}.{self.field}"


RUNTIME_FLAGS = [
    Flag("--model", "runtime", "model", str, "hub id or local diffusers-layout folder (default ali-vilab/i2vgen-xl)"),
    Flag("--backbone", "runtime", "backbone", str, "image-to-video model family (default i2vgen-xl)"),
    Flag("--variant", "runtime", "variant", str, "weights variant to load, e.g. fp16"),
    Flag("--device", "runtime", "device", str, "cpu, cuda or cuda:N (default: cuda if available)"),
    Flag("--dtype", "runtime", "dtype", str, "float32, float16 or bfloat16 (default: float16 on cuda)"),
    Flag("--offload", "runtime", "offload", help="keep weights on the CPU; each model visits the GPU", const=True),
    Flag("--seed", "runtime", "seed", int, "random seed (default 0)"),
    Flag("--cache-dir", "runtime", "cache_dir", str, "where inversions are cached (default ~/.cache/anyv2v)"),
    Flag("--no-cache", "runtime", "use_cache", help="neither read nor write the inversion cache", const=False),
    Flag("--quiet", "runtime", "quiet", help="no progress bars", const=True),
]
VIDEO_FLAGS = [
    Flag("--num-frames", "video", "num_frames", int, "frames to edit (default 16)"),
    Flag("--fps", "video", "fps", float, "source sampling rate and fps condition (default 8)"),
    Flag("--height", "video", "height", int, "frame height, a multiple of 8 (default 512)"),
    Flag("--width", "video", "width", int, "frame width, a multiple of 8 (default 512)"),
    Flag("--vae-encode", "vae", "encode", str, "'mean' (repeatable, default) or 'sample' (as the official code)"),
    Flag("--inversion-steps", "inversion", "steps", int, "DDIM inversion steps (reference 500)"),
    Flag("--inversion-prompt", "inversion", "prompt", str, "prompt used to invert the source (default empty)"),
    Flag("--steps", "sampling", "steps", int, "DDIM sampling steps (reference 50)"),
    Flag("--start-step", "sampling", "start_step", int, "sampling steps skipped at the start (reference 1)"),
]
EDIT_FLAGS = [
    Flag("--guidance-scale", "sampling", "guidance_scale", float, "classifier-free guidance scale (reference 9)"),
    Flag("--negative-prompt", "sampling", "negative_prompt", str, "negative prompt (default: the paper's)"),
    Flag("--init", "sampling", "init", str, "'inverted' (default) or 'noise': where sampling starts"),
    Flag("--eta", "sampling", "eta", float, "DDIM eta (default 0)"),
    Flag("--conv-injection", "injection", "conv", float, "fraction of steps with conv injection (reference 0.2)"),
    Flag("--spatial-injection", "injection", "spatial_attention", float, "spatial attention fraction (0.2)"),
    Flag("--temporal-injection", "injection", "temporal_attention", float, "temporal attention fraction (0.5)"),
    Flag("--decode-chunk-size", "vae", "decode_chunk_size", int, "frames per VAE decode call (default 8)"),
]


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes get the same one-line error shape as every other bad input."""

    def error(self, message: str) -> None:
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="anyv2v", description="Tuning-free video editing with image-to-video models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    edit = commands.add_parser("edit", help="edit a video from its edited first frame")
    edit.add_argument("source", help="source video (mp4, webm, mov, gif) or a folder of frames")
    edit.add_argument("--edited-frame", required=True, help="the edited first frame (an image file)")
    edit.add_argument("--prompt", required=True, help="text describing the edited video")
    edit.add_argument("-o", "--output", required=True, help="output video (.mp4 or .gif)")
    edit.add_argument("--preview", help="side-by-side preview, .gif or .png (default: OUTPUT.preview.gif)")
    edit.add_argument("--no-preview", action="store_true", help="do not write a preview")
    edit.add_argument("--no-injection", action="store_true", help="turn off every feature injection")

    invert = commands.add_parser("invert", help="precompute and cache the DDIM inversion of a video")
    invert.add_argument("source", help="source video (mp4, webm, mov, gif) or a folder of frames")

    for command, flags in ((edit, RUNTIME_FLAGS + VIDEO_FLAGS + EDIT_FLAGS), (invert, RUNTIME_FLAGS + VIDEO_FLAGS)):
        command.add_argument("--config", help="YAML or TOML file with any options; flags override it")
        command.add_argument("--preset", choices=sorted(PRESETS), help="settings to start from (default reference)")
        for flag in flags:
            flag.add_to(command)
    return parser


def flag_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        if "." in dest and value is not None:
            section, field = dest.split(".")
            overrides.setdefault(section, {})[field] = value
    if getattr(args, "no_injection", False):
        overrides.setdefault("injection", {}).update(conv=0.0, spatial_attention=0.0, temporal_attention=0.0)
    return overrides


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
        offload=runtime.offload,
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


def run_edit(args: argparse.Namespace, edit: EditConfig, runtime: RuntimeConfig) -> None:
    output = Path(args.output)
    check_output_suffix(output, VIDEO_SUFFIXES, "output")
    preview = None if args.no_preview else Path(args.preview or output.with_suffix(".preview.gif"))
    if preview is not None:
        check_output_suffix(preview, PREVIEW_SUFFIXES, "preview")
    size = (edit.video.height, edit.video.width)
    source = read_video(args.source, edit.video.num_frames, edit.video.fps, size)
    edited_frame = read_image(args.edited_frame, size)

    pipe = load_pipeline(edit, runtime)
    generator = torch.Generator().manual_seed(runtime.seed)
    frames = pipe.edit(source, edited_frame, args.prompt, generator=generator)
    write_video(frames, output, edit.video.fps)
    if preview is not None:
        write_preview([source, frames], preview, edit.video.fps, labels=["source", "edited"])
    if not runtime.quiet:
        print(f"wrote {output}" + (f" and {preview}" if preview else ""))


def run_invert(args: argparse.Namespace, edit: EditConfig, runtime: RuntimeConfig) -> None:
    if not runtime.use_cache:
        raise AnyV2VError("invert only fills the inversion cache: drop --no-cache")
    size = (edit.video.height, edit.video.width)
    source = read_video(args.source, edit.video.num_frames, edit.video.fps, size)
    pipe = load_pipeline(edit, runtime)
    pipe.invert(source)
    state = "already cached" if pipe.stats.inversion_cache_hit else "cached"
    print(f"inversion {state} in {pipe.cache.root}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        file_data = read_config_file(args.config) if args.config else {}
        edit, runtime = build_configs(args.preset, file_data, flag_overrides(args))
        with warnings.catch_warnings():
            if runtime.quiet:
                warnings.simplefilter("ignore")
            {"edit": run_edit, "invert": run_invert}[args.command](args, edit, runtime)
    except AnyV2VError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
