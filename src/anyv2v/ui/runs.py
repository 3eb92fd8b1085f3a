"""The web app's steps without the page: what an upload is, the first frame, the edited frame, and a run.

A run is an `anyv2v edit` command line, parsed by the command line's own parser and carried out by its own
code in this process, so the page checks settings exactly as the CLI does, and the run's sidecar records the
command that repeats it. Steps that use the device take turns on one lock, and the I2V model stays loaded
between runs.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import secrets
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from anyv2v.backbones import backbone_class
from anyv2v.cli import build_parser
from anyv2v.cli.edit import (
    add_editor_arguments,
    as_edited,
    edit_to_files,
    first_source_frame,
    fit_edited_frame,
    run_editor,
)
from anyv2v.cli.options import (
    EDIT_FLAGS,
    RUNTIME_FLAGS,
    SPAN_FLAGS,
    VIDEO_FLAGS,
    RaisingParser,
    add_config_flags,
    backbone_preset,
    configs,
    injection_flags,
    load_pipeline,
)
from anyv2v.config import EditConfig, RuntimeConfig
from anyv2v.editors import free_device_memory
from anyv2v.errors import AnyV2VError
from anyv2v.evaluation.evaluate import sidecar_path
from anyv2v.runtime import TOY_MODEL
from anyv2v.video import VideoInfo, probe_video, read_image, write_image

# What a run folder holds (its command runs from inside it), besides the source as "source.<its suffix>".
FRAME, VIDEO, PREVIEW = "frame.png", "edited.mp4", "preview.mp4"
RUN_PREFIX = "run-"
PAINT_MIN_SIDE = 384  # small frames are enlarged, pixel for pixel, until painting on them is comfortable

# The advanced settings every backbone has: (flag, label, the preset's value).
ADVANCED = (
    ("--steps", "Sampling steps", lambda config: config.sampling.steps),
    ("--inversion-steps", "Inversion steps", lambda config: config.inversion.steps),
    ("--guidance-scale", "Guidance scale", lambda config: config.sampling.guidance_scale),
)
INJECTION_FLAGS = {flag.field: flag.name for flag in injection_flags()}  # every registered backbone's kinds
# progress(iterable, description) -> the same items, reported to the page as they pass
Progress = Callable[[Iterable, str], Iterable]


class RunCancelled(AnyV2VError):
    """The person stopped the run; nothing was written."""


@dataclass(frozen=True)
class AppSettings:
    """What `anyv2v ui` was started with."""

    output_dir: Path
    model: str | None = None  # None: the backbone's default model
    backbone: str = "i2vgen-xl"
    device: str | None = None
    max_seconds: float = 300.0  # longest video accepted

    def default_preset(self) -> str:
        """The toy model runs at its own settings; any other model starts from its backbone's default."""
        return TOY_MODEL if self.model == TOY_MODEL else backbone_class(self.backbone).default_preset


@dataclass(frozen=True)
class Choices:
    """The page's settings of a run, as `anyv2v edit` flags: model, recipe, span and seed."""

    backbone: str = "i2vgen-xl"
    model: str | None = None
    preset: str | None = None
    start: float = 0.0
    end: float | None = None
    frames: str | None = None  # a count or "all"; None: one window
    resize: str = "fit"
    seed: int = 0
    device: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()  # further flags, e.g. (("--steps", "4"),)

    def flags(self) -> list[str]:
        pairs = [
            ("--backbone", self.backbone), ("--model", self.model), ("--preset", self.preset),
            ("--device", self.device), ("--start", _number(self.start) if self.start else None),
            ("--end", None if self.end is None else _number(self.end)), ("--frames", self.frames),
            ("--resize", None if self.resize == "fit" else self.resize), ("--seed", str(self.seed)), *self.overrides,
        ]  # fmt: skip
        return [text for flag, value in pairs if value is not None for text in flag_and_value(flag, value)]

    def configs(self) -> tuple[EditConfig, RuntimeConfig]:
        return configs(settings_parser().parse_args(self.flags()))


@dataclass(frozen=True)
class EditorRequest:
    """A first-frame editor and its inputs, as `anyv2v edit-frame` flags."""

    name: str
    instruction: str | None = None
    references: tuple[str, ...] = ()
    mask: str | None = None
    model: str | None = None
    options: tuple[str, ...] = ()  # KEY=VALUE

    def flags(self) -> list[str]:
        pairs = [("--editor", self.name), ("--instruction", self.instruction or None), ("--mask", self.mask),
                 ("--editor-model", self.model or None), *(("--reference", path) for path in self.references),
                 *(("--editor-option", option) for option in self.options)]  # fmt: skip
        return [text for flag, value in pairs if value is not None for text in flag_and_value(flag, value)]


@dataclass(frozen=True)
class FirstFrame:
    """The span's first frame as the video has it, and as the edit takes it."""

    original: Image.Image
    sized: Image.Image
    resize: str

    def fit(self, image: Image.Image) -> Image.Image:
        """An edited frame made at any size (uploaded, painted) as the edit takes it, as `--edited-frame` is."""
        return fit_edited_frame(image.convert("RGB"), (self.sized.height, self.sized.width), self.resize)

    def canvas(self) -> Image.Image:
        """What to paint on: the frame as the edit takes it, enlarged pixel for pixel, so that what is painted is
        what the model gets."""
        return for_painting(self.sized)

    def from_canvas(self, canvas: Image.Image) -> Image.Image:
        """What was painted on a canvas of an edit-size frame, back at that size by averaging each enlarged pixel's
        block, so that unpainted pixels come back unchanged; any other image is fitted as an upload is."""
        factor = painting_factor(self.sized)
        if canvas.size == (self.sized.width * factor, self.sized.height * factor):
            return canvas.convert("RGB").reduce(factor)
        return self.fit(canvas)


@dataclass(frozen=True)
class RunFiles:
    """One finished run's folder."""

    folder: Path

    @property
    def video(self) -> Path:
        return self.folder / VIDEO

    @property
    def frame(self) -> Path:
        return self.folder / FRAME

    @property
    def preview(self) -> Path:
        return self.folder / PREVIEW

    @property
    def settings(self) -> Path:
        return sidecar_path(self.video)

    def record(self) -> dict[str, Any]:
        return json.loads(self.settings.read_text())

    def caption(self) -> str:
        record = self.record()
        caption = f"{self.folder.name} · {record['backbone']} {record['preset'] or ''} · seed {record['seed']}"
        return caption + (f" · “{record['prompt']}”" if record["prompt"] else "")


def advanced_flags(backbone: str, preset: str | None, numbers: list[float | None], injection: dict[str, float]
                   ) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """The advanced settings as flags, only where they differ from the preset's, so the command stays short."""
    config = backbone_preset(backbone, preset or None)
    declared = backbone_class(backbone).injection_fractions(config.injection)
    unknown = set(injection) - set(declared)
    if unknown:
        raise AnyV2VError(f"backbone {backbone} has no injection kind {', '.join(sorted(unknown))}: "
                          f"its kinds are {', '.join(declared)}")  # fmt: skip
    given = [
        (flag, value, preset_value(config)) for (flag, _, preset_value), value in zip(ADVANCED, numbers, strict=True)
    ]
    given += [(INJECTION_FLAGS[kind], value, declared[kind]) for kind, value in injection.items()]
    return tuple((flag, f"{value:g}") for flag, value, default in given if value is not None and value != default)


def flag_and_value(flag: str, value: str) -> list[str]:
    """A value that starts with '-' joined to its flag, so argparse does not take it for a flag."""
    return [f"{flag}={value}"] if value.startswith("-") else [flag, value]


def _number(value: float) -> str:
    return f"{value:g}"


@functools.cache
def settings_parser() -> RaisingParser:
    """`anyv2v edit`'s settings and editor flags, without its positional source and outputs."""
    parser = RaisingParser(prog="anyv2v ui", add_help=False)
    add_config_flags(parser, RUNTIME_FLAGS + VIDEO_FLAGS + SPAN_FLAGS + EDIT_FLAGS)
    parser.add_argument("--editor")
    add_editor_arguments(parser)
    return parser


def inspect_video(path: str | None, max_seconds: float) -> VideoInfo:
    """The upload's length, rate and size; refused in one line when it is no usable video or too long."""
    if not path:
        raise AnyV2VError("no video yet: upload one, or pick a synthetic example (step 1)")
    info = probe_video(path)
    if info.duration > max_seconds:
        raise AnyV2VError(
            f"the video is {info.duration:.0f} s long and this app takes up to {max_seconds:g} s: "
            "upload a shorter cut, or edit it with 'anyv2v edit'"
        )
    return info


def first_frame(source: str | None, choices: Choices) -> FirstFrame:
    if not source:
        raise AnyV2VError("no video yet: upload one, or pick a synthetic example (step 1)")
    edit, runtime = choices.configs()
    original = first_source_frame(source, edit.video)
    return FirstFrame(original, as_edited(original, edit.video, runtime.backbone), edit.video.resize)


def for_painting(frame: Image.Image) -> Image.Image:
    """The frame enlarged, pixel for pixel, so that painting on a small one is comfortable."""
    factor = painting_factor(frame)
    return frame.resize((frame.width * factor, frame.height * factor), Image.Resampling.NEAREST)


def painting_factor(frame: Image.Image) -> int:
    """The whole factor that brings the frame's short side to PAINT_MIN_SIDE or beyond."""
    return max(1, -(-PAINT_MIN_SIDE // min(frame.size)))


def edited_from_file(path: str | None, first: FirstFrame) -> Image.Image:
    if not path:
        raise AnyV2VError("no image yet: upload the edited first frame")
    return first.fit(read_image(path))


class Runner:
    """Carries out the steps that use the device, one at a time, for every visitor of the page."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.device_lock = threading.Lock()
        self._cancels: dict[str, threading.Event] = {}
        self._pipe = None
        self._pipe_key: RuntimeConfig | None = None

    def edit_frame(self, frame: Image.Image, request: EditorRequest, choices: Choices) -> Image.Image:
        """The frame edited by a registered editor, which is released (its memory freed) right after."""
        args = settings_parser().parse_args([*choices.flags(), *request.flags()])
        _, runtime = configs(args)
        with self.device_lock:
            return run_editor(args, frame, runtime)

    def run(self, source: str | None, edited_frame: str | None, prompt: str, choices: Choices, *,
            session: str = "", progress: Progress = lambda items, description: items) -> RunFiles:  # fmt: skip
        """AnyV2V on the span with the edited frame, into a new run folder that appears only when complete.
        `cancel(session)` stops it at its next step."""
        if not source:
            raise AnyV2VError("no video yet: upload one, or pick a synthetic example (step 1)")
        if not edited_frame:
            raise AnyV2VError("no edited first frame yet: run an editor, upload a frame or paint one (step 2)")
        cancelled = self._cancels[session] = threading.Event()
        try:
            with self.device_lock:
                return self._run(source, read_image(edited_frame), prompt, choices, cancellable(progress, cancelled))
        finally:
            if self._cancels.get(session) is cancelled:
                del self._cancels[session]

    def cancel(self, session: str = "") -> bool:
        """Stop the session's run at its next step; False when it has none."""
        event = self._cancels.get(session)
        if event is not None:
            event.set()
        return event is not None

    def _run(self, source: str, edited_frame: Image.Image, prompt: str, choices: Choices, progress: Progress
             ) -> RunFiles:  # fmt: skip
        name = f"{RUN_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        final, partial = self.settings.output_dir / name, self.settings.output_dir / f".{name}.partial"
        partial.mkdir(parents=True)
        try:
            source_name = "source" + Path(source).suffix.lower()
            place_copy(Path(source), partial / source_name)
            write_image(edited_frame, partial / FRAME)
            takes_text = backbone_class(choices.backbone).takes_text
            text = prompt if takes_text else None
            args = build_parser(RaisingParser).parse_args(run_command(source_name, text, choices, partial))
            args.invocation = shlex.join(["anyv2v", *run_command(source_name, text, choices)])
            edit, runtime = configs(args)
            edit_to_files(args, edit, runtime, lambda e, r: self._pipeline(e, r, progress))
            os.replace(partial, final)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return RunFiles(final)

    def _pipeline(self, edit: EditConfig, runtime: RuntimeConfig, progress: Progress):
        """The loaded pipeline when it runs with these settings (seed and threads aside), else a fresh one."""
        key = dataclasses.replace(runtime, seed=0, threads=None, quiet=False)
        if key != self._pipe_key:
            self._pipe = self._pipe_key = None
            free_device_memory()
            self._pipe, self._pipe_key = load_pipeline(edit, runtime), key
        self._pipe.progress_bar = progress
        return self._pipe


def run_command(source_name: str, prompt: str | None, choices: Choices, folder: Path | None = None) -> list[str]:
    """The `anyv2v edit` arguments of a run: its files by name as seen from inside its folder, or in `folder`."""
    source, frame, video, preview = (str(folder / name) if folder else name for name in (source_name, FRAME, VIDEO,
                                                                                          PREVIEW))  # fmt: skip
    text = [] if prompt is None else flag_and_value("--prompt", prompt)
    return ["edit", source, "--edited-frame", frame, *text, "-o", video, "--preview", preview, *choices.flags()]


def cancellable(progress: Progress, cancelled: threading.Event) -> Progress:
    """`progress`, raising RunCancelled before the next step once `cancelled` is set."""

    def progress_bar(iterable: Iterable, description: str) -> Iterator:
        for item in progress(iterable, description):
            if cancelled.is_set():
                raise RunCancelled("cancelled: the run stopped and no output was written")
            yield item

    return progress_bar


def place_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows one (no second copy of a long video), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def earlier_runs(output_dir: Path) -> list[RunFiles]:
    """Finished runs, newest first."""
    folders = sorted(output_dir.glob(f"{RUN_PREFIX}*"), reverse=True) if output_dir.is_dir() else []
    return [RunFiles(folder) for folder in folders if RunFiles(folder).settings.is_file()]
