"""The `anyv2v` command line: `edit`, `invert`, `edit-frame` and `editors`. Flags map onto the config dataclasses'
fields; editor flags map onto the chosen editor's options."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from anyv2v.backbones import backbone_class
from anyv2v.backbones.base import check_model_folder, looks_like_path
from anyv2v.config import (
    DEFAULT_PRESET,
    PRESETS,
    EditConfig,
    RuntimeConfig,
    VideoConfig,
    build_configs,
    for_toy_model,
    read_config_file,
)
from anyv2v.editors import free_device_memory, get_editor, list_editors
from anyv2v.errors import AnyV2VError
from anyv2v.evaluation.bench import VARIANTS
from anyv2v.toy.demo import DEMO_CLIP, DEMO_EDIT
from anyv2v.toy.model import SHIPPED_MODEL
from anyv2v.toy.train import TrainConfig
from anyv2v.toy.world import EDITS
from anyv2v.video import (
    IMAGE_SUFFIXES,
    PREVIEW_MIN_HEIGHT,
    PREVIEW_SUFFIXES,
    VIDEO_SUFFIXES,
    read_image,
    read_video,
    write_image,
    write_preview,
    write_video,
)


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
    Flag("--inversion-solver", "inversion", "solver", str, "'ddim' (reference) or 'second-order' (fast)"),
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

# edit-frame only reads the first frame and runs the editor: the I2V model's flags do not apply.
EDIT_FRAME_FLAGS = [
    flag
    for flag in RUNTIME_FLAGS + VIDEO_FLAGS
    if flag.name in ("--device", "--seed", "--quiet", "--height", "--width")
]
TOY_COMMANDS = ("demo", "bench")  # the shipped toy model by default, any preset at the toy model's settings
EDITOR_ONLY_ARGUMENTS = ("instruction", "reference", "mask", "editor_model", "editor_option")


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes get the same one-line error shape as every other bad input."""

    def error(self, message: str) -> None:
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="anyv2v", description="Tuning-free video editing with image-to-video models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    edit = commands.add_parser("edit", help="edit a video from its edited first frame")
    edit.add_argument("source", help="source video (mp4, webm, mov, gif) or a folder of frames")
    first_frame = edit.add_mutually_exclusive_group(required=True)
    first_frame.add_argument("--edited-frame", help="the edited first frame (an image file)")
    first_frame.add_argument("--editor", help="edit the first frame with this editor first (see 'anyv2v editors')")
    add_editor_arguments(edit)
    edit.add_argument("--prompt", required=True, help="text describing the edited video")
    edit.add_argument("-o", "--output", required=True, help="output video (.mp4 or .gif)")
    edit.add_argument("--preview", help="side-by-side preview, .gif or .png (default: OUTPUT.preview.gif)")
    edit.add_argument("--no-preview", action="store_true", help="do not write a preview")
    edit.add_argument("--no-injection", action="store_true", help="turn off every feature injection")

    invert = commands.add_parser("invert", help="precompute and cache the DDIM inversion of a video")
    invert.add_argument("source", help="source video (mp4, webm, mov, gif) or a folder of frames")

    edit_frame = commands.add_parser("edit-frame", help="edit only the first frame, with any editor")
    edit_frame.add_argument("source", help="source video, folder of frames, or image; taken at --height x --width")
    edit_frame.add_argument("--editor", required=True, help="editor name (see 'anyv2v editors')")
    add_editor_arguments(edit_frame)
    edit_frame.add_argument("-o", "--output", required=True, help="edited frame (.png, .jpg, .webp or .bmp)")

    commands.add_parser("editors", help="list the first-frame editors and what each needs")

    demo = commands.add_parser("demo", help="offline AnyV2V edit with the shipped toy model, scored against truth")
    demo.add_argument("--edit", choices=EDITS, default=DEMO_EDIT, help="edit type of the synthetic clip")
    demo.add_argument("--clip", type=int, default=DEMO_CLIP, help="which held-out clip (0-99)")
    demo.add_argument("--video", help="edit your own clip instead (no ground truth then)")
    demo.add_argument("--edited-frame", help="with --video: the edited first frame (default: hue rotation)")
    demo.add_argument("-o", "--output", default="anyv2v-demo.mp4", help="output video (.mp4 or .gif)")

    bench = commands.add_parser("bench", help="ablations of AnyV2V against the synthetic world's exact edits")
    bench.add_argument("--clips", type=int, default=20, help="held-out clips per edit type")
    bench.add_argument("--edits", nargs="+", choices=EDITS, default=list(EDITS))
    bench.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), metavar="VARIANT")
    bench.add_argument("-o", "--output", default="bench-results", help="folder for bench.md and bench.json")
    bench_mode = bench.add_mutually_exclusive_group()
    bench_mode.add_argument("--quality", action="store_true", help="measure the model's quality bars instead")
    bench_mode.add_argument(
        "--speed", nargs="*", choices=sorted(PRESETS), metavar="PRESET",
        help="compare presets' costs and scores instead, the first as baseline (default: reference fast)",
    )  # fmt: skip
    bench.add_argument(
        "--full-size", action="store_true",
        help="with --speed: time the full-size I2VGen-XL with random weights at each preset's own settings "
        "(costs only; nothing to download)",
    )  # fmt: skip
    bench.add_argument(
        "--memory-limit", type=float, metavar="GIB",
        help="with --full-size on CUDA: cap this process's GPU memory, as on a smaller card",
    )  # fmt: skip

    train = commands.add_parser("train-toy", help="train the toy I2VGen-XL on the synthetic world (CPU)")
    train.add_argument("-o", "--output", required=True, help="folder to save the model in diffusers layout")
    for field in dataclasses.fields(TrainConfig):
        train.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)

    for command, flags in (
        (edit, RUNTIME_FLAGS + VIDEO_FLAGS + EDIT_FLAGS),
        (invert, RUNTIME_FLAGS + VIDEO_FLAGS),
        (edit_frame, EDIT_FRAME_FLAGS),
        (demo, RUNTIME_FLAGS + VIDEO_FLAGS + EDIT_FLAGS),
        (bench, RUNTIME_FLAGS + VIDEO_FLAGS + EDIT_FLAGS),
    ):
        command.add_argument("--config", help="YAML or TOML file with any options; flags override it")
        command.add_argument(
            "--preset", choices=sorted(PRESETS), help=f"settings to start from (default {DEFAULT_PRESET})"
        )
        for flag in flags:
            flag.add_to(command)
    return parser


def add_editor_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--instruction", help="what the editor should do, e.g. 'make it winter' or 'red -> green'")
    command.add_argument("--reference", action="append", default=[], metavar="IMAGE", help="reference image (repeat)")
    command.add_argument("--mask", metavar="IMAGE", help="region to edit: white edits, black keeps")
    command.add_argument("--editor-model", help="the editor's weights: hub id or local diffusers-layout folder")
    command.add_argument(
        "--editor-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="editor option, e.g. steps=20 (repeat)",
    )


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
    written = [output]
    if args.editor is None:
        check_no_editor_arguments(args)
        edited_frame = read_image(args.edited_frame, size)
    else:
        check_model_folder_early(runtime)
        edited_frame = run_editor(args, source[0], runtime)
        free_device_memory()  # the editor is gone now: give its GPU memory to the I2V model
        written.append(write_image(edited_frame, output.with_suffix(".frame.png")))

    pipe = load_pipeline(edit, runtime)
    generator = torch.Generator().manual_seed(runtime.seed)
    frames = pipe.edit(source, edited_frame, args.prompt, generator=generator)
    write_video(frames, output, edit.video.fps)
    if preview is not None:
        labels = ["source", "edited"]
        write_preview([source, frames], preview, edit.video.fps, labels=labels, min_height=PREVIEW_MIN_HEIGHT)
        written.append(preview)
    if not runtime.quiet:
        print(f"wrote {', '.join(map(str, written))}")


def run_edit_frame(args: argparse.Namespace, edit: EditConfig, runtime: RuntimeConfig) -> None:
    output = Path(args.output)
    check_output_suffix(output, IMAGE_SUFFIXES, "output")
    edited_frame = run_editor(args, read_first_frame(args.source, edit.video), runtime)
    write_image(edited_frame, output)
    if not runtime.quiet:
        print(f"wrote {output}")


def run_editors() -> None:
    """The registry as a table: built-ins, then plugins (a broken plugin shows its error)."""
    rows = [("NAME", "KIND", "INPUTS", "NEEDS", "DESCRIPTION")]
    for entry in list_editors():
        editor = entry.editor
        if editor is None:
            rows.append((entry.name, "broken", "", entry.error, f"from {entry.origin}"))
        else:
            origin = "" if entry.origin == "built-in" else f" (from {entry.origin})"
            needs = "; ".join(editor.needs()) or "nothing"
            rows.append((entry.name, editor.kind, ", ".join(editor.inputs()), needs, editor.description + origin))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]).rstrip())


def run_editor(args: argparse.Namespace, frame: Image.Image, runtime: RuntimeConfig) -> Image.Image:
    """Edit the first frame with the chosen editor, then release it (its models leave memory)."""
    editor_class = get_editor(args.editor)
    editor_class.check_inputs(args.instruction, args.reference, args.mask)
    references = [read_image(path) for path in args.reference]
    mask = read_image(args.mask) if args.mask else None
    options = editor_options(args, editor_class.option_names(), runtime)
    if runtime.quiet:
        silence_library_output()
    with editor_class.from_options(**options) as editor:
        generator = torch.Generator().manual_seed(runtime.seed)
        return editor.edit(frame, args.instruction, references, mask=mask, generator=generator)


def editor_options(args: argparse.Namespace, known: list[str], runtime: RuntimeConfig) -> dict[str, Any]:
    """--editor-option pairs and --editor-model, plus --device and --quiet where the editor has such options."""
    options: dict[str, Any] = {}
    for pair in args.editor_option:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise AnyV2VError(f"--editor-option {pair!r} is not KEY=VALUE: pass e.g. --editor-option steps=20")
        options[key.strip()] = value
    if args.editor_model:
        options["model"] = args.editor_model
    shared = {"device": runtime.device, "progress": not runtime.quiet}
    options.update(
        {key: value for key, value in shared.items() if key in known and key not in options and value is not None}
    )
    return options


def read_first_frame(path: str, video: VideoConfig) -> Image.Image:
    """The first frame of a video or frame folder, or an image, at the configured size like `edit` uses it."""
    size = (video.height, video.width)
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        return read_image(path, size)
    return read_video(path, 1, video.fps, size)[0]


def check_no_editor_arguments(args: argparse.Namespace) -> None:
    given = [f"--{name.replace('_', '-')}" for name in EDITOR_ONLY_ARGUMENTS if getattr(args, name)]
    if given:
        raise AnyV2VError(
            f"{', '.join(given)} only apply with --editor: drop them or use --editor instead of --edited-frame"
        )


def check_model_folder_early(runtime: RuntimeConfig) -> None:
    """A bad local I2V model folder fails before the editor spends minutes on the frame."""
    if looks_like_path(runtime.model):
        check_model_folder(Path(runtime.model).expanduser(), backbone_class(runtime.backbone).required_subfolders)


def run_invert(args: argparse.Namespace, edit: EditConfig, runtime: RuntimeConfig) -> None:
    if not runtime.use_cache:
        raise AnyV2VError("invert only fills the inversion cache: drop --no-cache")
    size = (edit.video.height, edit.video.width)
    source = read_video(args.source, edit.video.num_frames, edit.video.fps, size)
    pipe = load_pipeline(edit, runtime)
    pipe.invert(source)
    state = "already cached" if pipe.stats.inversion_cache_hit else "cached"
    print(f"inversion {state} in {pipe.cache.root}")


def run_demo(args: argparse.Namespace, edit: EditConfig, runtime: RuntimeConfig) -> None:
    from anyv2v.toy.demo import run_demo as demo

    output = Path(args.output)
    check_output_suffix(output, VIDEO_SUFFIXES, "output")
    if args.edited_frame and not args.video:
        raise AnyV2VError("--edited-frame needs --video: the synthetic clips bring their own edited frame")
    started = time.time()
    result = demo(
        load_pipeline(edit, runtime), edit, output, edit=args.edit, clip=args.clip,
        video=Path(args.video) if args.video else None,
        edited_frame=Path(args.edited_frame) if args.edited_frame else None, seed=runtime.seed,
    )  # fmt: skip
    print(f"wrote {output}, {', '.join(map(str, result.previews))} in {time.time() - started:.1f} s")
    if result.scores is not None:
        s = result.scores
        print(
            f"against the ground truth: PSNR {s['psnr']:.2f} dB (the unedited source: {result.source_psnr:.2f} dB), "
            f"SSIM {s['ssim']:.3f}; edit carried: {s['carried_first']:.2f} in frame 0, {s['carried']:.2f} after"
        )


def run_bench(args: argparse.Namespace, edit: EditConfig, runtime: RuntimeConfig) -> None:
    from anyv2v.evaluation.bench import markdown_table, model_quality, run_bench, summarize, write_report

    if args.full_size or args.memory_limit is not None:
        time_full_size(args, runtime)
        return
    pipe = load_pipeline(edit, runtime)
    if args.quality:
        quality = model_quality(pipe, edit, clips=args.clips, progress=pipe.progress_bar)
        for name, (mean, std) in quality.items():
            print(f"{name} PSNR: {mean:.2f} ± {std:.2f} dB over {args.clips} held-out clips")
        return
    if args.speed is not None:
        run_speed_bench(args, pipe, edit, runtime)
        return
    rows = run_bench(
        pipe, edit, clips=args.clips, edits=args.edits, variants=args.variants, seed=runtime.seed,
        progress=pipe.progress_bar,
    )  # fmt: skip
    summary = summarize(rows)
    table = markdown_table(summary)
    report = {"command": args.invocation, "config": edit.to_dict(), "summary": summary, "rows": rows}
    print(table)
    print("wrote {} and {}".format(*write_report(Path(args.output), "bench", report, table)))


def run_speed_bench(args: argparse.Namespace, pipe, edit: EditConfig, runtime: RuntimeConfig) -> None:
    """Each preset at the toy model's settings, with the video and runtime flags of this command applied."""
    from anyv2v.evaluation.speed import device_description, run_speed_bench

    presets = speed_presets(args, for_toy_model)
    rows = run_speed_bench(pipe, presets, clips=args.clips, edits=args.edits, seed=runtime.seed,
                           progress=pipe.progress_bar)  # fmt: skip
    write_speed_report(args, device_description(pipe.backbone.device), presets, rows)


def time_full_size(args: argparse.Namespace, runtime: RuntimeConfig) -> None:
    """The presets' costs on the full-size architecture with random weights, at each preset's own settings."""
    from anyv2v.evaluation import full_size
    from anyv2v.evaluation.speed import device_description, time_presets
    from anyv2v.pipeline import AnyV2VPipeline, resolve_device, resolve_dtype
    from anyv2v.profiling import cap_cuda_memory

    if args.speed is None or not args.full_size:
        raise AnyV2VError("--full-size and --memory-limit time presets: use them with --speed and --full-size")
    if runtime.quiet:
        silence_library_output()
    device = resolve_device(runtime.device)
    dtype = resolve_dtype(runtime.dtype, device)
    backbone = full_size.random_i2vgen_xl(full_size.FULL_SIZE, dtype=dtype, device=device)
    if runtime.offload:
        backbone.enable_cpu_offload()
    if args.memory_limit is not None:
        cap_cuda_memory(args.memory_limit, device)
    pipe = AnyV2VPipeline(backbone, model_id="random full-size i2vgen-xl", progress=not runtime.quiet)
    presets = speed_presets(args, None)
    rows = time_presets(pipe, presets, seed=runtime.seed, progress=pipe.progress_bar)
    setup = {"dtype": str(dtype), "offload": runtime.offload, "memory_limit_gib": args.memory_limit}
    device_text = device_description(device) + ", " + ", ".join(f"{k} {v}" for k, v in setup.items())
    write_speed_report(args, device_text, presets, rows, setup=setup, parameters=full_size.parameter_counts(backbone))


def speed_presets(args: argparse.Namespace, adapt) -> dict[str, EditConfig]:
    """The presets named after --speed (default reference, fast), with this command's file and flags applied."""
    file_data = read_config_file(args.config) if args.config else {}
    overrides = flag_overrides(args)
    return {name: build_configs(name, file_data, overrides, adapt)[0] for name in args.speed or ["reference", "fast"]}


def write_speed_report(
    args: argparse.Namespace, device: str, presets: dict[str, EditConfig], rows: list[dict], **extra: object
) -> None:
    from anyv2v.evaluation.bench import write_report
    from anyv2v.evaluation.speed import speed_table, summarize_speed

    summary = summarize_speed(rows)
    table = f"Device: {device}\n\n" + speed_table(summary)
    configs = {name: config.to_dict() for name, config in presets.items()}
    report = {"command": args.invocation, "device": device, **extra, "configs": configs, "summary": summary}
    print(table)
    print("wrote {} and {}".format(*write_report(Path(args.output), "speed", {**report, "rows": rows}, table)))


def run_train_toy(args: argparse.Namespace) -> None:
    from anyv2v.toy.train import train_toy

    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    train_toy(Path(args.output), config)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.invocation = " ".join(["anyv2v", *argv])
    runtime = None
    try:
        if args.command == "editors":
            run_editors()
            return 0
        if args.command == "train-toy":
            run_train_toy(args)
            return 0
        file_data = read_config_file(args.config) if args.config else {}
        toy = args.command in TOY_COMMANDS and not getattr(args, "full_size", False)
        edit, runtime = build_configs(args.preset, file_data, flag_overrides(args), for_toy_model if toy else None)
        if toy and runtime.model == RuntimeConfig.model:
            runtime = dataclasses.replace(runtime, model=str(SHIPPED_MODEL))
        with warnings.catch_warnings():
            if runtime.quiet:
                warnings.simplefilter("ignore")
            commands = {
                "edit": run_edit,
                "invert": run_invert,
                "edit-frame": run_edit_frame,
                "demo": run_demo,
                "bench": run_bench,
            }
            commands[args.command](args, edit, runtime)
    except AnyV2VError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except torch.OutOfMemoryError:
        offload = "" if runtime is not None and runtime.offload else "add --offload, "
        print(
            f"error: out of GPU memory: {offload}lower --decode-chunk-size (e.g. 2), or edit fewer --num-frames or "
            "a smaller --height/--width",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
