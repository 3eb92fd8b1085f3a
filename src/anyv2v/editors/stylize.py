"""Classic, weight-free stylization: cartoon, pencil sketch and posterize in PIL/numpy, and OpenCV's
non-photorealistic filters behind the `opencv` extra.

The style is the instruction ("pencil"), so `--instruction` means "what to do" for every editor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from anyv2v.editors.base import Editor, EditorOptions, EditRequest
from anyv2v.errors import AnyV2VError


@dataclass(frozen=True)
class StylizeOptions(EditorOptions):
    colors: int = 8  # palette size of cartoon and posterize
    radius: float = 6.0  # blur radius of the pencil sketch: larger gives softer, wider strokes
    edges: int = 40  # cartoon: edge strength (0-255) from which a black outline is drawn; 255 draws none


def cartoon(frame: Image.Image, options: StylizeOptions) -> Image.Image:
    """Median smoothing (keeps edges), a small palette, and black outlines where the smoothed frame has edges."""
    smooth = frame.filter(ImageFilter.MedianFilter(5)).filter(ImageFilter.MedianFilter(5))
    flat = posterize(smooth, options)
    edges = ImageOps.grayscale(smooth).filter(ImageFilter.FIND_EDGES)
    keep = edges.point(lambda value: 0 if value >= options.edges else 255)
    return Image.composite(flat, Image.new("RGB", frame.size), keep)


def pencil(frame: Image.Image, options: StylizeOptions) -> Image.Image:
    """Grayscale "color dodge" of the frame with its blurred negative: flat areas go white, edges stay as strokes."""
    gray = ImageOps.grayscale(frame)
    blurred_negative = np.asarray(ImageOps.invert(gray).filter(ImageFilter.GaussianBlur(options.radius)), float)
    sketch = np.asarray(gray, float) * 255 / np.maximum(255 - blurred_negative, 1)
    return Image.fromarray(np.clip(np.rint(sketch), 0, 255).astype(np.uint8), "L").convert("RGB")


def posterize(frame: Image.Image, options: StylizeOptions) -> Image.Image:
    """The frame in its `colors` most representative colors, without dithering."""
    if options.colors < 1:
        raise AnyV2VError(f"stylize option colors={options.colors}: use 1 or more")
    return frame.quantize(options.colors, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).convert("RGB")


STYLES: dict[str, Callable[[Image.Image, StylizeOptions], Image.Image]] = {
    "cartoon": cartoon,
    "pencil": pencil,
    "posterize": posterize,
}


def pick_style(editor: str, instruction: str | None, styles: dict, default: str) -> str:
    """The style named by the instruction (case-insensitive), or `default` when there is none."""
    style = (instruction or default).lower()
    if style not in styles:
        raise AnyV2VError(f"editor '{editor}' has no style {style!r}: use --instruction {' or '.join(styles)}")
    return style


class StylizeEditor(Editor):
    name = "stylize"
    kind = "offline"
    description = "classic stylization with PIL/numpy: cartoon (default), pencil sketch or posterize"
    instruction_use = "optional"
    instruction_help = "style: " + "|".join(STYLES)
    Options = StylizeOptions

    def apply(self, frame: Image.Image, request: EditRequest) -> Image.Image:
        return STYLES[pick_style(self.name, request.instruction, STYLES, "cartoon")](frame, self.options)


@dataclass(frozen=True)
class OpenCVStylizeOptions(EditorOptions):
    sigma_s: float = 60.0  # spatial extent of OpenCV's edge-preserving filter (0-200)
    sigma_r: float | None = None  # how much color difference counts as an edge (0-1); default: the style's


# OpenCV filter name (in cv2) and its default sigma_r, by style.
OPENCV_STYLES: dict[str, tuple[str, float]] = {
    "stylization": ("stylization", 0.45),
    "pencil": ("pencilSketch", 0.07),
    "pencil-color": ("pencilSketch", 0.07),
    "detail": ("detailEnhance", 0.15),
}


class OpenCVStylizeEditor(Editor):
    name = "opencv-stylize"
    kind = "offline"
    description = "OpenCV's non-photorealistic filters: stylization (default), pencil, pencil-color, detail"
    instruction_use = "optional"
    instruction_help = "style: " + "|".join(OPENCV_STYLES)
    extra = "opencv"
    extra_modules = ("cv2",)
    Options = OpenCVStylizeOptions

    def apply(self, frame: Image.Image, request: EditRequest) -> Image.Image:
        import cv2

        style = pick_style(self.name, request.instruction, OPENCV_STYLES, "stylization")
        function, sigma_r = OPENCV_STYLES[style]
        options = self.options
        bgr = cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2BGR)
        result = getattr(cv2, function)(bgr, sigma_s=options.sigma_s, sigma_r=options.sigma_r or sigma_r)
        if function == "pencilSketch":  # returns (gray sketch, color sketch)
            gray, color = result
            result = color if style == "pencil-color" else cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        return Image.fromarray(cv2.cvtColor(result, cv2.COLOR_BGR2RGB))
