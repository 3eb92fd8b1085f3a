"""Side-by-side previews (source | edited frame | result | ...), enlarged so small frames can be seen, with
labels in a band above the frames, never on them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from anyv2v.errors import AnyV2VError
from anyv2v.runtime import atomic_output
from anyv2v.video.write import check_output_suffix, write_video

PREVIEW_SUFFIXES = (".gif", ".png", ".mp4")
PREVIEW_STRIP_FRAMES = 8
PREVIEW_MIN_HEIGHT = 160  # what a preview enlarges small frames to (the toy model's are 32 pixels)
LABEL_BAND = 14  # pixels above each labelled column (gif, mp4) or row (png)


def write_preview(
    columns: Sequence[Sequence[Image.Image]],
    path: str | Path,
    fps: float,
    labels: Sequence[str] | None = None,
    min_height: int = 0,
) -> Path:
    """Write a side-by-side comparison of videos (e.g. source | edited) for a quick look.

    `.gif`/`.mp4`: frame i shows frame i of every column, for as many frames as the shortest
    multi-frame column; a one-image column is held still across all frames.
    `.png`: one row per column with up to 8 evenly spaced frames; a one-image column shows once.
    Columns are scaled to the first column's height; frames lower than `min_height` are enlarged by a
    whole factor, pixel for pixel, so small clips can be seen. Labels sit in a band above the frames,
    never on them. `fps` is unused for `.png`.
    """
    target = Path(path)
    check_output_suffix(target, PREVIEW_SUFFIXES)
    tiles = _same_height_columns(columns, min_height)
    names = _checked_labels(labels, len(tiles))
    if target.suffix.lower() != ".png":
        return write_video(_side_by_side_frames(tiles, names), target, fps)
    with atomic_output(target) as temporary:
        _preview_strip(tiles, names).save(temporary, format="PNG")
    return target


def _same_height_columns(columns: Sequence[Sequence[Image.Image]], min_height: int) -> list[list[Image.Image]]:
    if not columns or any(len(column) == 0 for column in columns):
        raise AnyV2VError(
            "preview needs at least one column and every column needs at least one frame: "
            "pass non-empty frame lists (e.g. [source_frames, edited_frames])"
        )
    height = columns[0][0].height
    factor = max(1, math.ceil(min_height / height))
    return [[_enlarged(_scale_to_height(f.convert("RGB"), height), factor) for f in column] for column in columns]


def _enlarged(image: Image.Image, factor: int) -> Image.Image:
    if factor == 1:
        return image
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def _checked_labels(labels: Sequence[str] | None, count: int) -> list[str]:
    if labels is None:
        return [""] * count
    if len(labels) != count:
        raise AnyV2VError(f"preview got {len(labels)} labels for {count} columns: pass one label per column or none")
    return list(labels)


def _side_by_side_frames(columns: list[list[Image.Image]], labels: list[str]) -> list[Image.Image]:
    moving = [len(column) for column in columns if len(column) > 1]
    length = min(moving, default=1)
    return [
        _concat_horizontally(
            [
                _with_label(column[0] if len(column) == 1 else column[index], label)
                for column, label in zip(columns, labels, strict=True)
            ]
        )
        for index in range(length)
    ]


def _preview_strip(columns: list[list[Image.Image]], labels: list[str]) -> Image.Image:
    rows = []
    for column, label in zip(columns, labels, strict=True):
        shown = _evenly_spaced(column, PREVIEW_STRIP_FRAMES)
        rows.append(_with_label(_concat_horizontally(shown), label))
    return _concat_vertically(rows)


def _evenly_spaced(frames: list[Image.Image], count: int) -> list[Image.Image]:
    if len(frames) <= count:
        return frames
    last = len(frames) - 1
    return [frames[round(step * last / (count - 1))] for step in range(count)]


def _scale_to_height(image: Image.Image, height: int) -> Image.Image:
    if image.height == height:
        return image
    width = max(1, round(image.width * height / image.height))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _with_label(image: Image.Image, label: str) -> Image.Image:
    """`image` below a black band holding `label` in white; the image itself is left untouched."""
    if not label:
        return image
    labelled = Image.new("RGB", (image.width, image.height + LABEL_BAND))
    labelled.paste(image, (0, LABEL_BAND))
    ImageDraw.Draw(labelled).text((3, 2), label, fill="white", font=ImageFont.load_default())
    return labelled


def _concat_horizontally(images: list[Image.Image]) -> Image.Image:
    canvas = Image.new("RGB", (sum(image.width for image in images), max(image.height for image in images)))
    left = 0
    for image in images:
        canvas.paste(image, (left, 0))
        left += image.width
    return canvas


def _concat_vertically(images: list[Image.Image]) -> Image.Image:
    canvas = Image.new("RGB", (max(image.width for image in images), sum(image.height for image in images)))
    top = 0
    for image in images:
        canvas.paste(image, (0, top))
        top += image.height
    return canvas
