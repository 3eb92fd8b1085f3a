"""`anyv2v edit`, `invert` and `edit-frame`: the commands that edit a user's video or frame."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from anyv2v.backbones import backbone_class
from anyv2v.cli.options import (
    EDIT_FLAGS,
    RUNTIME_FLAGS,
    SPAN_FLAGS,
    VIDEO_FLAGS,
    add_config_flags,
    check_output_suffix,
    configs,
    load_pipeline,
    silence_library_output,
)
from anyv2v.config import EditConfig, RuntimeConfig, VideoConfig
from anyv2v.editors import free_device_memory, get_editor
from anyv2v.errors import AnyV2VError
from anyv2v.runtime import TOY_MODEL, atomic_output, check_model_folder, looks_like_path
from anyv2v.video import (
    IMAGE_SUFFIXES,
    PREVIEW_MIN_HEIGHT,
    PREVIEW_SUFFIXES,
    VIDEO_SUFFIXES,
    read_image,
    read_span,
    write_image,
    write_preview,
    write_video,
)
from anyv2v.video.audio import add_source_audio, has_audio
from anyv2v.video.resize import edit_size, resize_frame, restore_size
from anyv2v.windows import WindowStore, edit_in_windows, pipeline_window_editor, run_key

EDITOR_ONLY_ARGUMENTS = ("instruction", "reference", "mask", "editor_model", "editor_option")
# edit-frame only reads the first frame and runs the editor: the I2V model's flags do not apply.
EDIT_FRAME_FLAGS = [
    flag
    for flag in RUNTIME_FLAGS + VIDEO_FLAGS + SPAN_FLAGS
    if flag.name in ("--device", "--seed", "--quiet", "--threads", "--height", "--width", "--resize", "--backbone")
]


def add_parsers(commands: argparse._SubParsersAction) -> None:
    edit = commands.add_parser("edit", help="edit a video from its edited first frame")
    edit.add_argument("source", help="source video (mp4, webm, mov, gif) or a folder of frames")
    first_frame = edit.add_mutually_exclusive_group(required=True)
    first_frame.add_argument("--edited-frame", help="the edited first frame (an image file)")
    first_frame.add_argument("--editor", help="edit the first frame with this editor first (see 'anyv2v editors')")
    add_editor_arguments(edit)
    edit.add_argument(
        "--prompt", help="text describing the edited video (default with --editor: the instruction; none for svd)"
    )
    edit.add_argument("-o", "--output", required=True, help="output video (.mp4 or .gif)")
    edit.add_argument("--preview", help="side-by-side preview, .gif or .png (default: OUTPUT.preview.gif)")
    edit.add_argument("--no-preview", action="store_true", help="do not write a preview")
    add_config_flags(edit, RUNTIME_FLAGS + VIDEO_FLAGS + SPAN_FLAGS + EDIT_FLAGS)
    edit.set_defaults(run=run_edit)

    invert = commands.add_parser("invert", help="precompute and cache the inversion of a video")
    invert.add_argument("source", help="source video (mp4, webm, mov, gif) or a folder of frames")
    add_config_flags(invert, RUNTIME_FLAGS + VIDEO_FLAGS)
    invert.set_defaults(run=run_invert)

    edit_frame = commands.add_parser("edit-frame", help="edit only the first frame, with any editor")
    edit_frame.add_argument("source", help="source video, folder of frames, or image; taken at --height x --width")
    edit_frame.add_argument("--editor", required=True, help="editor name (see 'anyv2v editors')")
    add_editor_arguments(edit_frame)
    edit_frame.add_argument("-o", "--output", required=True, help="edited frame (.png, .jpg, .webp or .bmp)")
    add_config_flags(edit_frame, EDIT_FRAME_FLAGS, backbone_options=False)
    edit_frame.set_defaults(run=run_edit_frame)


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


def run_edit(args: argparse.Namespace) -> None:
    edit, runtime = configs(args)
    written = edit_to_files(args, edit, runtime, load_pipeline)
    if not runtime.quiet:
        print(f"wrote {', '.join(map(str, written))}")


def edit_to_files(
    args: argparse.Namespace, edit: EditConfig, runtime: RuntimeConfig, load: Callable[..., Any]
) -> list[Path]:
    """Everything `anyv2v edit` writes, with the I2V pipeline from `load(edit, runtime)`: the web app passes a
    loader that keeps the model between runs. Returns the files written."""
    prompt = edit_prompt(args, runtime.backbone)
    output = Path(args.output)
    check_output_suffix(output, VIDEO_SUFFIXES, "output")
    preview = None if args.no_preview else Path(args.preview or output.with_suffix(".preview.gif"))
    if preview is not None:
        check_output_suffix(preview, PREVIEW_SUFFIXES, "preview")
    video = edit.video
    originals, source, edit = read_source(args.source, edit, runtime.backbone)
    size = (edit.video.height, edit.video.width)
    written = [output]
    if args.editor is None:
        check_no_editor_arguments(args)
        edited_frame = fit_edited_frame(read_image(args.edited_frame), size, video.resize)
    else:
        check_model_folder_early(runtime)
        edited_frame = run_editor(args, source[0], runtime)
        free_device_memory()  # the editor is gone now: give its GPU memory to the I2V model
        written.append(write_image(edited_frame, output.with_suffix(".frame.png")))

    pipe = load(edit, runtime)
    frames = edit_span(pipe, source, edited_frame, prompt, edit, runtime, output)
    if video.output_size == "source":
        frames = restore_size(frames, (originals[0].height, originals[0].width), video.resize)
    write_video(frames, output, video.fps)
    if video.audio and has_audio(Path(args.source)) and output.suffix.lower() != ".gif":
        add_source_audio(output, Path(args.source), video.start, len(frames) / video.fps)
    edited_path = written[1] if args.editor else Path(args.edited_frame)
    written.append(write_sidecar(output, args, edited_path, prompt, edit, runtime))
    if preview is not None:
        labels = ["source", "edited frame", "AnyV2V"]
        columns = [source, [edited_frame], frames]
        write_preview(columns, preview, video.fps, labels=labels, min_height=PREVIEW_MIN_HEIGHT)
        written.append(preview)
    return written


def read_source(path: str, edit: EditConfig, backbone: str) -> tuple[list[Image.Image], list[Image.Image], EditConfig]:
    """The source span as read, the same frames at the edit's size, and the config at that size."""
    originals = read_source_span(path, edit.video)
    height, width = sized_for_edit(originals[0], edit.video, backbone)
    window = min(edit.video.num_frames, len(originals))  # a span shorter than a window is one short window
    video = dataclasses.replace(edit.video, height=height, width=width, num_frames=window)
    edit = dataclasses.replace(edit, video=video)
    backbone_class(backbone).check(edit)
    return originals, [resize_frame(frame, (height, width), edit.video.resize) for frame in originals], edit


def read_source_span(path: str, video: VideoConfig) -> list[Image.Image]:
    """The source frames to edit, at their own size: one window, a count, or all, from --start."""
    if video.frames == "all":
        return read_span(path, video.fps, start=video.start, end=video.end)
    count = video.frames or video.num_frames
    end = video.end if video.end is not None else video.start + count / video.fps
    return read_span(path, video.fps, start=video.start, end=end)[:count]


def fit_edited_frame(frame: Image.Image, size: tuple[int, int], mode: str) -> Image.Image:
    """The edited frame at the edit's size: letterboxed like the source with "pad", else covering it (an
    edited frame of the source's shape is then resized whole)."""
    return resize_frame(frame, size, "pad" if mode == "pad" else "crop")


def edit_span(
    pipe, source: list[Image.Image], edited_frame: Image.Image, prompt: str, edit: EditConfig,
    runtime: RuntimeConfig, output: Path,
) -> list[Image.Image]:  # fmt: skip
    """One edit, or windows of the backbone's length for a longer span, kept on disk until the video is
    written (`OUTPUT.windows/`), so that an interrupted run resumes."""
    video = edit.video
    if len(source) <= video.num_frames:
        return pipe.edit(source, edited_frame, prompt, config=edit, generator=seeded_generator(runtime.seed))

    key = run_key(source, edited_frame, prompt, edit.to_dict(), runtime.model, runtime.backbone, runtime.seed)
    store = WindowStore(output.with_name(output.name + ".windows"), key)
    frames = edit_in_windows(
        source, edited_frame, pipeline_window_editor(pipe, prompt, edit), length=video.num_frames,
        overlap=video.overlap, strategy=video.window_strategy, seed=runtime.seed, store=store,
        progress=pipe.progress_bar,
    )  # fmt: skip
    store.remove()
    return [Image.fromarray(frame) for frame in frames]


def write_sidecar(
    output: Path, args: argparse.Namespace, edited_frame: Path, prompt: str, edit: EditConfig, runtime: RuntimeConfig
) -> Path:
    """What the output was made from, beside it, so that `anyv2v eval FOLDER` needs nothing retyped."""
    from anyv2v import __version__
    from anyv2v.evaluation.evaluate import sidecar_path

    def relative(path: str | Path | None) -> str | None:
        return None if path is None else os.path.relpath(Path(path).resolve(), output.resolve().parent)

    record = {
        "output": output.name, "source": relative(args.source), "edited_frame": relative(edited_frame),
        "prompt": prompt, "mask": relative(args.mask), "editor": args.editor, "instruction": args.instruction,
        "backbone": runtime.backbone, "preset": getattr(args, "preset", None), "seed": runtime.seed,
        "model": runtime.model, "config": edit.to_dict(), "anyv2v": __version__,
        "command": getattr(args, "invocation", None),
    }  # fmt: skip
    path = sidecar_path(output)
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(record, indent=1) + "\n")
    return path


def seeded_generator(seed: int):
    import torch

    return torch.Generator().manual_seed(seed)


def edit_prompt(args: argparse.Namespace, backbone: str) -> str:
    """--prompt, or else the editor's instruction, which usually says what the edited video shows; empty for a
    backbone without text (which refuses a prompt given to it)."""
    if not backbone_class(backbone).takes_text:
        if args.prompt:
            raise AnyV2VError(f"{backbone} takes no text, so a prompt cannot steer it: drop --prompt")
        return ""
    prompt = args.prompt if args.prompt is not None else args.instruction
    if prompt is None:
        raise AnyV2VError("--prompt is needed: describe the edited video, e.g. --prompt 'a red car in the snow'")
    return prompt


def run_edit_frame(args: argparse.Namespace) -> None:
    edit, runtime = configs(args)
    output = Path(args.output)
    check_output_suffix(output, IMAGE_SUFFIXES, "output")
    edited_frame = run_editor(args, read_first_frame(args.source, edit.video, runtime.backbone), runtime)
    write_image(edited_frame, output)
    if not runtime.quiet:
        print(f"wrote {output}")


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
        return editor.edit(frame, args.instruction, references, mask=mask, generator=seeded_generator(runtime.seed))


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


def read_first_frame(path: str, video: VideoConfig, backbone: str) -> Image.Image:
    """The first frame of the span, at the size and shape `edit` gives it."""
    return as_edited(first_source_frame(path, video), video, backbone)


def first_source_frame(path: str, video: VideoConfig) -> Image.Image:
    """The first frame of the span (a video's or frame folder's from `video.start`), or an image, as it is."""
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        return read_image(path)
    return read_span(path, video.fps, start=video.start, end=video.start + 1 / video.fps)[0]


def as_edited(frame: Image.Image, video: VideoConfig, backbone: str) -> Image.Image:
    """A source frame at the size and shape `edit` gives the source's frames."""
    return resize_frame(frame, sized_for_edit(frame, video, backbone), video.resize)


def sized_for_edit(frame: Image.Image, video: VideoConfig, backbone: str) -> tuple[int, int]:
    """The (height, width) a source with this first frame is edited at (--resize fit follows its shape)."""
    multiple = backbone_class(backbone).size_multiple
    return edit_size((frame.height, frame.width), (video.height, video.width), video.resize, multiple)


def check_no_editor_arguments(args: argparse.Namespace) -> None:
    given = [f"--{name.replace('_', '-')}" for name in EDITOR_ONLY_ARGUMENTS if getattr(args, name)]
    if given:
        raise AnyV2VError(
            f"{', '.join(given)} only apply with --editor: drop them or use --editor instead of --edited-frame"
        )


def check_model_folder_early(runtime: RuntimeConfig) -> None:
    """A bad local I2V model folder fails before the editor spends minutes on the frame."""
    if runtime.model not in (None, TOY_MODEL) and looks_like_path(runtime.model):
        check_model_folder(Path(runtime.model).expanduser(), tuple(backbone_class(runtime.backbone).components))


def run_invert(args: argparse.Namespace) -> None:
    edit, runtime = configs(args)
    if not runtime.use_cache:
        raise AnyV2VError("invert only fills the inversion cache: drop --no-cache")
    _, source, edit = read_source(args.source, edit, runtime.backbone)
    pipe = load_pipeline(edit, runtime)
    pipe.invert(source)
    state = "already cached" if pipe.stats.inversion_cache_hit else "cached"
    print(f"inversion {state} in {pipe.cache.root}")
