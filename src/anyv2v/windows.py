"""Edits longer than the backbone's native length: overlapping windows, each continuing the one before.

Window k+1 starts `overlap` frames before window k ends. Its conditioning frame is window k's edited frame at
that position, its inversion is of its own source segment, and the frames it shares with window k are kept
from window k (the video does not jump at the seam). Strategies, measured on the toy world in the README:
`chain` conditions each window on that frame alone; `anchor` keeps the image embedding of the user's edited
frame for every window (only the first-frame latent continues), so the look cannot drift through the
embedding. Each finished window is stored on disk, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.runtime import atomic_output

if TYPE_CHECKING:  # torch loads on first use, so that the command line starts fast
    import torch

    from anyv2v.config import EditConfig
    from anyv2v.pipeline import AnyV2VPipeline

STRATEGIES = ("chain", "anchor")


@dataclass(frozen=True)
class Window:
    index: int
    start: int  # first frame of the span
    stop: int  # one past the last


def plan_windows(num_frames: int, length: int, overlap: int) -> list[Window]:
    """Windows of `length` frames, each starting `overlap` frames before the previous one ends; the last one
    moves back to end at the last frame (it overlaps more) rather than run short."""
    if not 0 < overlap < length:
        raise AnyV2VError(f"window overlap {overlap} must be at least 1 and below the window length {length}")
    if num_frames <= length:
        return [Window(0, 0, num_frames)]
    starts = list(range(0, num_frames - length + 1, length - overlap))
    if starts[-1] + length < num_frames:
        starts.append(num_frames - length)
    return [Window(i, start, start + length) for i, start in enumerate(starts)]


class WindowStore:
    """Finished windows of one run on disk (uint8 frames), kept under a key of everything that shapes them;
    a folder holding another run's windows is emptied first."""

    def __init__(self, folder: Path, key: str):
        self.folder, self.key = folder, key
        stamp = folder / "run.json"
        if folder.exists() and (not stamp.is_file() or json.loads(stamp.read_text()).get("key") != key):
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({"key": key}))

    def load(self, window: Window) -> np.ndarray | None:
        path = self._path(window)
        return np.load(path) if path.is_file() else None

    def save(self, window: Window, frames: np.ndarray) -> None:
        with atomic_output(self._path(window)) as temporary, open(temporary, "wb") as file:
            np.save(file, frames)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _path(self, window: Window) -> Path:
        return self.folder / f"window-{window.index:04d}-{window.start}-{window.stop}.npy"


def run_key(frames: Sequence[Image.Image], edited: Image.Image, *settings: object) -> str:
    """A digest of the source frames, the edited frame and the settings: what a stored window depends on."""
    digest = hashlib.sha256()
    for image in [*frames, edited]:
        digest.update(np.asarray(image.convert("RGB")).tobytes())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


EditWindow = Callable[[list[Image.Image], Image.Image, "Image.Image | None", "torch.Generator"], np.ndarray]


def pipeline_window_editor(pipe: AnyV2VPipeline, prompt: str, config: EditConfig) -> EditWindow:
    """`pipe.edit` as the editor of one window: uint8 frames out, the anchor frame passed through."""

    def edit_window(frames, condition, anchor, generator) -> np.ndarray:
        output = pipe.edit(frames, condition, prompt, config=config, generator=generator, output_type="np",
                           anchor_frame=anchor)  # fmt: skip
        return (output * 255).round().astype(np.uint8)

    return edit_window


def edit_in_windows(
    frames: list[Image.Image],
    edited_frame: Image.Image,
    edit_window: EditWindow,
    *,
    length: int,
    overlap: int = 1,
    strategy: str = "chain",
    seed: int = 0,
    store: WindowStore | None = None,
    progress: Callable = lambda items, description: items,
) -> np.ndarray:
    """The whole span edited window by window: (frames, H, W, 3) uint8.

    `edit_window(source_frames, conditioning_frame, anchor_frame, generator)` edits one window (the pipeline's
    edit); window k draws its noise from seed + k, so a resumed run equals an uninterrupted one.
    """
    import torch

    if strategy not in STRATEGIES:
        raise AnyV2VError(f"unknown window strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    video: np.ndarray | None = None
    for window in progress(plan_windows(len(frames), length, overlap), "windows"):
        edited = store.load(window) if store is not None else None
        if edited is None:
            condition = edited_frame if video is None else Image.fromarray(video[window.start])
            anchor = edited_frame if strategy == "anchor" and video is not None else None
            generator = torch.Generator().manual_seed(seed + window.index)
            edited = edit_window(frames[window.start : window.stop], condition, anchor, generator)
            if store is not None:
                store.save(window, edited)
        video = edited if video is None else np.concatenate([video, edited[len(video) - window.start :]])
    return video
