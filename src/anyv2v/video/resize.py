"""Aspect-keeping frame sizes for the backbones, and the way back to the source's size.

Cover-cropping to a fixed size (`fit_to_size`) drops a landscape source's sides. "fit" instead picks a model
size with the source's aspect and about the backbone's native pixel count; "pad" letterboxes into the fixed
size; "crop" keeps the old behaviour. Sizes are (height, width) like the rest of anyv2v; PIL's are (width, height).
"""

from __future__ import annotations

import math

from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.video.read import fit_to_size

RESIZE_MODES = ("fit", "crop", "pad")


def fit_size(source_size: tuple[int, int], native_pixels: int, multiple: int) -> tuple[int, int]:
    """A (height, width) with the source's aspect and about `native_pixels` pixels, both sides multiples of
    `multiple`: the backbone then sees its usual amount of detail without cropping or bars.

    Each side is rounded to the nearest multiple (as `check_size_multiple` suggests), at least one multiple.
    """
    _check_positive(source_size=source_size, native_pixels=native_pixels, multiple=multiple)
    height, width = source_size
    scale = math.sqrt(native_pixels / (height * width))
    return _round_to_multiple(height * scale, multiple), _round_to_multiple(width * scale, multiple)


def edit_size(source_size: tuple[int, int], size: tuple[int, int], mode: str, multiple: int) -> tuple[int, int]:
    """The size frames are edited at: with "fit", the source's shape with as many pixels as `size` has;
    otherwise `size` itself."""
    _check_mode(mode)
    return fit_size(source_size, size[0] * size[1], multiple) if mode == "fit" else size


def resize_frame(image: Image.Image, size: tuple[int, int], mode: str) -> Image.Image:
    """`image` at exactly `size` (height, width), by the chosen `mode` (one of RESIZE_MODES)."""
    _check_mode(mode)
    _check_positive(size=size)
    if mode == "crop":
        return fit_to_size(image, size)
    if mode == "fit":  # `size` came from fit_size, so only its rounding to a multiple distorts the aspect
        return _resized(image, size)
    return _letterboxed(image, size)


def restore_size(frames: list[Image.Image], source_size: tuple[int, int], mode: str) -> list[Image.Image]:
    """Edited frames made by `resize_frame(source, size, mode)` brought back to the source's resolution.

    "fit" and "pad" return exactly `source_size`. "crop" cannot bring back the sides it cut, and stretching
    would distort, so it returns the cropped window at the source's scale: the source's full height (or
    width) with the model frame's aspect, e.g. 1080x1080 for a 1080x1920 source edited at 512x512.
    """
    _check_mode(mode)
    _check_positive(source_size=source_size)
    return [_restored(frame, source_size, mode) for frame in frames]


def _restored(frame: Image.Image, source_size: tuple[int, int], mode: str) -> Image.Image:
    if mode == "fit":
        return _resized(frame, source_size)
    if mode == "pad":
        return _resized(frame.crop(_content_box(source_size, (frame.height, frame.width))), source_size)
    return _resized(frame, _crop_window(source_size, (frame.height, frame.width)))


def _letterboxed(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scaled to fit inside `size`, centred on black: every source pixel kept, the bars are the cost."""
    box = _content_box((image.height, image.width), size)
    canvas = Image.new(image.mode, (size[1], size[0]))  # all zeros: black
    canvas.paste(_resized(image, (box[3] - box[1], box[2] - box[0])), box[:2])
    return canvas


def _content_box(source_size: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where a source of `source_size` lands when letterboxed into `size`: PIL's (left, top, right, bottom).

    Shared by padding and restoring, so the bars removed are exactly the bars added."""
    (source_height, source_width), (height, width) = source_size, size
    scale = min(height / source_height, width / source_width)
    inner_height = min(height, max(1, round(source_height * scale)))
    inner_width = min(width, max(1, round(source_width * scale)))
    left, top = (width - inner_width) // 2, (height - inner_height) // 2
    return left, top, left + inner_width, top + inner_height


def _crop_window(source_size: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """The (height, width) of the source region that `fit_to_size` kept when cropping to `size`."""
    (source_height, source_width), (height, width) = source_size, size
    scale = max(height / source_height, width / source_width)
    return (
        min(source_height, max(1, round(height / scale))),
        min(source_width, max(1, round(width / scale))),
    )


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    target = (size[1], size[0])
    return image if image.size == target else image.resize(target, Image.Resampling.LANCZOS)


def _round_to_multiple(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def _check_mode(mode: str) -> None:
    if mode not in RESIZE_MODES:
        raise AnyV2VError(f"unknown resize mode '{mode}': pass --resize with one of {', '.join(RESIZE_MODES)}")


def _check_positive(**values: int | tuple[int, int]) -> None:
    for name, value in values.items():
        if min(value if isinstance(value, tuple) else (value,)) < 1:
            raise AnyV2VError(f"{name} must be at least 1, got {value}: pass positive sizes")
