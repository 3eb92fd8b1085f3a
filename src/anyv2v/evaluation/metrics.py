"""Video metrics against a ground truth, on uint8 (frames, H, W, 3) arrays."""

from __future__ import annotations

import numpy as np


def psnr(video: np.ndarray, truth: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over the whole clip (identical clips give infinity)."""
    mse = np.mean((_unit(video) - _unit(truth)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))


def ssim(video: np.ndarray, truth: np.ndarray, window: int = 7) -> float:
    """Mean structural similarity over frames and channels, with a uniform window (Wang et al. constants)."""
    return float(np.mean(_ssim_map(video, truth, window)))


def masked_psnr(video: np.ndarray, truth: np.ndarray, keep: np.ndarray) -> float:
    """PSNR over the pixels where `keep` (H, W) is true, in every frame: is what should stay, unchanged?"""
    mse = np.mean(((_unit(video) - _unit(truth)) ** 2)[:, keep])
    return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))


def masked_ssim(video: np.ndarray, truth: np.ndarray, keep: np.ndarray, window: int = 7) -> float:
    """SSIM over the windows that lie wholly where `keep` (H, W) is true."""
    inside = _box(keep[None, :, :, None].astype(np.float64), window)[0, :, :, 0] > 1 - 1e-9
    if not inside.any():
        return float("nan")
    return float(np.mean(_ssim_map(video, truth, window)[:, inside]))


def _ssim_map(video: np.ndarray, truth: np.ndarray, window: int) -> np.ndarray:
    """(frames, H - window + 1, W - window + 1, channels) local structural similarities."""
    a, b = _unit(video), _unit(truth)
    c1, c2 = 0.01**2, 0.03**2
    mean_a, mean_b = _box(a, window), _box(b, window)
    var_a = _box(a * a, window) - mean_a**2
    var_b = _box(b * b, window) - mean_b**2
    covariance = _box(a * b, window) - mean_a * mean_b
    numerator = (2 * mean_a * mean_b + c1) * (2 * covariance + c2)
    denominator = (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    return numerator / denominator


def temporal_error(video: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute difference between the clips' frame-to-frame changes: motion that deviates from the truth."""
    return float(np.mean(np.abs(np.diff(_unit(video), axis=0) - np.diff(_unit(truth), axis=0))))


CHANGED = 8 / 255  # a pixel the edit changes differs from the source by more than this in some channel


def carried(video: np.ndarray, source: np.ndarray, truth: np.ndarray, frames: slice = slice(None)) -> float:
    """How much of the true edit reached `frames` of the video, over the pixels the edit changes there.

    1 - mean|video - truth| / mean|source - truth|: 1 when the video matches the truth, 0 when it is as far
    from it as the unedited source, below 0 when further. NaN where the edit changes no pixel of `frames`.
    """
    video, source, truth = (_unit(x)[frames] for x in (video, source, truth))
    changed = np.abs(source - truth).max(axis=-1) > CHANGED
    if not changed.any():
        return float("nan")
    return float(1 - np.abs(video - truth)[changed].mean() / np.abs(source - truth)[changed].mean())


def _unit(video: np.ndarray) -> np.ndarray:
    return np.asarray(video, dtype=np.float64) / 255.0


def _box(x: np.ndarray, window: int) -> np.ndarray:
    """Mean over each valid window x window patch of the spatial axes (1 and 2), by summed-area tables."""
    table = np.cumsum(np.cumsum(x, axis=1), axis=2)
    table = np.pad(table, ((0, 0), (1, 0), (1, 0), (0, 0)))
    w = window
    total = table[:, w:, w:] - table[:, :-w, w:] - table[:, w:, :-w] + table[:, :-w, :-w]
    return total / (w * w)
