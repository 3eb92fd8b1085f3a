"""Recolor a region: given by a mask, by the pixels near a source color, or both (their overlap)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from anyv2v.editors.base import Editor, EditorOptions, EditRequest
from anyv2v.editors.color import (
    blend,
    lab_to_rgb,
    mask_weights,
    parse_color,
    rgb_to_lab,
    to_array,
    to_image,
    weighted_stats,
)
from anyv2v.errors import AnyV2VError


@dataclass(frozen=True)
class RecolorOptions(EditorOptions):
    tolerance: float = 30.0  # how far (CIE76 ΔE) a pixel's color may be from the source color to be recolored


class RecolorEditor(Editor):
    """Shifts the region's LAB colors so that their mean becomes the target: a flat region turns exactly into the
    target color, a shaded one keeps its shading and texture. Pixels outside the region are left untouched."""

    name = "recolor"
    kind = "offline"
    description = "recolor a region (mask and/or a source color's range) to a target color, keeping its shading"
    instruction_use = "required"
    instruction_help = "'TARGET' or 'SOURCE -> TARGET' colors"
    mask_use = "optional"
    Options = RecolorOptions

    def apply(self, frame: Image.Image, request: EditRequest) -> Image.Image:
        source, target = parse_recolor_instruction(request.instruction)
        if source is None and request.mask is None:
            raise AnyV2VError(
                "recolor needs a region: pass --mask IMAGE, or name the color to replace as 'SOURCE -> TARGET'"
            )
        rgb = to_array(frame)
        lab = rgb_to_lab(rgb)
        weights = mask_weights(request.mask, lab.shape[:2])
        if source is not None:
            distance = np.linalg.norm(lab - rgb_to_lab(source), axis=-1)
            weights = weights * (distance <= self.options.tolerance)
        if not weights.any():
            raise AnyV2VError(
                f"no pixel of the frame is in the region to recolor: check the mask and source color, or raise "
                f"the tolerance (--editor-option tolerance={self.options.tolerance * 2:g})"
            )
        mean, _ = weighted_stats(lab, weights)
        shifted = lab_to_rgb(lab + (rgb_to_lab(target) - mean))
        return to_image(blend(rgb, shifted, weights))


def parse_recolor_instruction(instruction: str) -> tuple[np.ndarray | None, np.ndarray]:
    """('red -> green') to (source RGB, target RGB); a lone color is the target (the region then comes from a mask)."""
    parts = instruction.split("->")
    if len(parts) > 2:
        raise AnyV2VError(
            f"recolor instruction {instruction!r} has more than one '->': use 'TARGET' or 'SOURCE -> TARGET'"
        )
    target = parse_color(parts[-1])
    return (parse_color(parts[0]) if len(parts) == 2 else None), target
