from __future__ import annotations

import numpy as np
import pytest

from anyv2v.evaluation.metrics import carried, psnr, ssim, temporal_error


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


def test_carried_is_one_for_the_truth_zero_for_the_source_and_half_way_between():
    source = np.full((3, 8, 8, 3), 100, dtype=np.uint8)
    truth = source.copy()
    truth[:, 2:4, 2:4] = [200, 50, 100]  # the edit: a patch in every frame
    halfway = ((source.astype(int) + truth) // 2).astype(np.uint8)
    assert carried(truth, source, truth) == pytest.approx(1.0)
    assert carried(source, source, truth) == pytest.approx(0.0)
    assert carried(halfway, source, truth, slice(1, None)) == pytest.approx(0.5)
    away = source.copy()
    away[:, 2:4, 2:4] = [0, 200, 100]  # wrong, and further from the truth than the source
    assert carried(away, source, truth) < 0
    noise_elsewhere = truth.copy()
    noise_elsewhere[:, 6:, 6:] = 0  # pixels the edit leaves alone do not count
    assert carried(noise_elsewhere, source, truth) == pytest.approx(1.0)


def test_carried_is_nan_where_the_edit_changes_nothing():
    source = np.full((2, 4, 4, 3), 100, dtype=np.uint8)
    truth = source.copy()
    truth[0, 0, 0] = 0
    assert np.isnan(carried(source, source, truth, slice(1, None)))
