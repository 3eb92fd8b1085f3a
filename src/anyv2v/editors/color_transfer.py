"""Reference color statistics transfer (Reinhard et al., "Color Transfer between Images", 2001)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from anyv2v.editors.base import Editor, EditorOptions, EditRequest
from anyv2v.editors.color import blend, lab_to_rgb, mask_weights, rgb_to_lab, to_array, to_image, weighted_stats

# Floor of a channel's spread, so a flat frame channel does not divide by zero.
_MIN_STD = 1e-3


@dataclass(frozen=True)
class ColorTransferOptions(EditorOptions):
    strength: float = 1.0  # 0 keeps the frame, 1 matches the reference's statistics fully


class ColorTransferEditor(Editor):
    """Gives the frame the reference's color mood: each LAB channel is shifted and scaled so that its mean and
    standard deviation match the reference's. With a mask, only the masked region is measured and changed."""

    name = "color-transfer"
    kind = "offline"
    description = "match the frame's LAB color mean and spread to a reference image's (look/grade transfer)"
    reference_count = (1, 1)
    mask_use = "optional"
    Options = ColorTransferOptions

    def apply(self, frame: Image.Image, request: EditRequest) -> Image.Image:
        rgb = to_array(frame)
        lab = rgb_to_lab(rgb)
        weights = mask_weights(request.mask, lab.shape[:2])
        reference = rgb_to_lab(to_array(request.references[0]))
        mean, std = weighted_stats(lab, weights)
        target_mean, target_std = weighted_stats(reference, np.ones(reference.shape[:2]))
        matched = (lab - mean) / np.maximum(std, _MIN_STD) * target_std + target_mean
        edited = lab_to_rgb(lab + (matched - lab) * self.options.strength)
        return to_image(blend(rgb, edited, weights))
