"""CIE LAB conversion and the region arithmetic the offline color editors share, in numpy.

LAB separates lightness from color and is roughly perceptually uniform, so color distances (ΔE) and mean/spread
statistics computed there behave as people expect, unlike in RGB.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageColor

from anyv2v.errors import AnyV2VError

# sRGB (D65) linear RGB -> XYZ, and the D65 white point.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE = np.array([0.95047, 1.0, 1.08883])
_DELTA = 6 / 29


def parse_color(text: str) -> np.ndarray:
    """An RGB triple (0-255 floats) from a CSS name or hex code such as 'green' or '#00ff00'."""
    try:
        return np.array(ImageColor.getrgb(text.strip())[:3], dtype=np.float64)
    except ValueError:
        raise AnyV2VError(
            f"unknown color {text.strip()!r}: use a color name (e.g. 'green') or a hex code ('#00ff00')"
        ) from None


def is_color_name(text: str) -> bool:
    """'red' or 'light blue' rather than an exact value such as '#ff0000' or 'rgb(255, 0, 0)'."""
    text = text.strip()
    return not text.startswith("#") and "(" not in text


def lightness_chroma_hue(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LAB as (lightness, chroma, hue in degrees): how colourful a pixel is and which colour it is, apart."""
    return lab[..., 0], np.hypot(lab[..., 1], lab[..., 2]), np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360


def to_array(image: Image.Image) -> np.ndarray:
    """RGB pixels as float64 (H, W, 3) in 0-255."""
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def to_image(rgb: np.ndarray) -> Image.Image:
    """Float RGB in 0-255 (out-of-gamut values clipped) back to an 8-bit image."""
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0-255, any leading shape, last axis 3) to CIE LAB (L in 0-100)."""
    scaled = rgb / 255.0
    linear = np.where(scaled <= 0.04045, scaled / 12.92, ((scaled + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > _DELTA**3, np.cbrt(xyz), xyz / (3 * _DELTA**2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE LAB to sRGB in 0-255, not clipped (to_image clips)."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4 / 29)) * _WHITE
    linear = np.clip(xyz @ _XYZ_TO_RGB.T, 0.0, None)
    scaled = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return scaled * 255.0


def mask_weights(mask: Image.Image | None, shape: tuple[int, int]) -> np.ndarray:
    """Per-pixel edit strength in [0, 1] from an "L" mask (None: every pixel)."""
    if mask is None:
        return np.ones(shape)
    return np.asarray(mask, dtype=np.float64) / 255.0


def weighted_stats(lab: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each LAB channel over the pixels, weighted (e.g. by a soft mask)."""
    total = weights.sum()
    mean = (lab * weights[..., None]).sum(axis=(0, 1)) / total
    variance = (((lab - mean) ** 2) * weights[..., None]).sum(axis=(0, 1)) / total
    return mean, np.sqrt(variance)


def blend(original: np.ndarray, edited: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mix RGB arrays per pixel; weight-0 pixels come back exactly as they were."""
    return original + (edited - original) * weights[..., None]
