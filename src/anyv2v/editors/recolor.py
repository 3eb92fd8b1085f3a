"""Recolor a region: given by a mask, by the pixels near a source color, or both (their overlap)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from anyv2v.editors.base import Editor, EditorOptions, EditRequest
from anyv2v.editors.color import (
    blend,
    is_color_name,
    lab_to_rgb,
    lightness_chroma_hue,
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
    tolerance: float = 30.0  # for an exact source color ('#c81e1e'): the CIE76 ΔE a pixel may be from it
    hue_width: float = 25.0  # for a named one ('red'): degrees of hue either side of the name's (skin is ~70°, red 40°)
    min_chroma: float = 15.0  # for a named one: how colourful a pixel must be at least (greys are not red), and
    # a quarter of the name's own chroma (a faint pink is not red)


# Below this share of the frame, a named color probably missed what the user meant.
FEW_PIXELS = 0.005


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
            weights = weights * self._matches(lab, source, request.instruction)
        if not weights.any():
            raise AnyV2VError(
                "no pixel of the frame is in the region to recolor: select it with --mask IMAGE, or widen the "
                f"color range (--editor-option hue_width={self.options.hue_width * 2:g} for a named color, "
                f"tolerance={self.options.tolerance * 2:g} for an exact one)"
            )
        if source is not None and request.mask is None and weights.mean() < FEW_PIXELS:
            warnings.warn(
                f"only {weights.mean():.1%} of the frame matched the color to replace: if that is not the region "
                "you meant, select it with --mask IMAGE",
                stacklevel=2,
            )
        mean, _ = weighted_stats(lab, weights)
        shifted = lab_to_rgb(lab + (rgb_to_lab(target) - mean))
        return to_image(blend(rgb, shifted, weights))

    def _matches(self, lab: np.ndarray, source: np.ndarray, instruction: str) -> np.ndarray:
        """Pixels of the source color. A name means a color as people name it: any shade of its hue that is
        colourful enough ('red' takes a dark red bow tie), or for white, grey and black any near-neutral pixel
        of similar lightness; an exact value ('#c81e1e') means pixels within `tolerance` ΔE of it."""
        named = rgb_to_lab(source)
        if not is_color_name(instruction.split("->")[0]):
            return np.linalg.norm(lab - named, axis=-1) <= self.options.tolerance
        lightness, chroma, hue = lightness_chroma_hue(lab)
        named_lightness, named_chroma, named_hue = lightness_chroma_hue(named)
        if named_chroma < self.options.min_chroma:
            return (chroma < self.options.min_chroma) & (np.abs(lightness - named_lightness) <= 25)
        hue_distance = np.abs((hue - named_hue + 180) % 360 - 180)
        colourful = chroma >= max(self.options.min_chroma, named_chroma / 4)
        return colourful & (hue_distance <= self.options.hue_width)


def parse_recolor_instruction(instruction: str) -> tuple[np.ndarray | None, np.ndarray]:
    """('red -> green') to (source RGB, target RGB); a lone color is the target (the region then comes from a mask)."""
    parts = instruction.split("->")
    if len(parts) > 2:
        raise AnyV2VError(
            f"recolor instruction {instruction!r} has more than one '->': use 'TARGET' or 'SOURCE -> TARGET'"
        )
    target = parse_color(parts[-1])
    return (parse_color(parts[0]) if len(parts) == 2 else None), target
