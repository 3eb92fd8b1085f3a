from __future__ import annotations

import numpy as np
import pytest

from anyv2v.evaluation.metrics import psnr, ssim, temporal_error


def clip(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)


def test_psnr_of_a_known_error():
    truth = np.full((2, 8, 8, 3), 100, dtype=np.uint8)
    assert psnr(truth + 10, truth) == pytest.approx(10 * np.log10(255**2 / 100))
    assert psnr(truth, truth) == float("inf")


def test_ssim_is_one_for_identical_clips_and_lower_for_noise():
    ramp = np.linspace(0, 255, 16)
    truth = np.broadcast_to((ramp[:, None] + ramp[None, :]) / 2, (4, 3, 16, 16)).transpose(0, 2, 3, 1)
    truth = truth.round().astype(np.uint8)
    assert ssim(truth, truth) == pytest.approx(1.0)
    noisy = np.clip(truth.astype(int) + np.random.default_rng(1).integers(-40, 40, truth.shape), 0, 255)
    assert ssim(noisy.astype(np.uint8), truth) < 0.9


def test_temporal_error_sees_motion_not_a_constant_offset():
    truth = clip()
    shifted = np.clip(truth.astype(int) + 5, 0, 255).astype(np.uint8)
    frozen = np.repeat(truth[:1], len(truth), axis=0)
    assert temporal_error(shifted, truth) < 0.01
    assert temporal_error(frozen, truth) > 0.1
