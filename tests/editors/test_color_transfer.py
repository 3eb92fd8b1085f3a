from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from anyv2v.editors import create_editor
from anyv2v.editors.color import rgb_to_lab


def smooth_image(seed: int, low: int, high: int, size=(48, 40)) -> Image.Image:
    """Gradients with a little noise, well inside the gamut so matched statistics need no clipping."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]] / max(size)
    channels = [low + (high - low) * (a * x + (1 - a) * y) for a in rng.uniform(0, 1, 3)]
    array = np.stack(channels, axis=-1) + rng.normal(0, 4, (size[1], size[0], 3))
    return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8))


def lab_stats(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    lab = rgb_to_lab(np.asarray(image, dtype=float)).reshape(-1, 3)
    return lab.mean(axis=0), lab.std(axis=0)


def test_the_output_takes_the_references_lab_mean_and_spread():
    frame, reference = smooth_image(0, 60, 140), smooth_image(1, 110, 210, size=(30, 30))
    edited = create_editor("color-transfer").edit(frame, references=[reference])
    mean, std = lab_stats(edited)
    target_mean, target_std = lab_stats(reference)
    np.testing.assert_allclose(mean, target_mean, atol=0.5)
    np.testing.assert_allclose(std, target_std, rtol=0.05, atol=0.3)
    assert not np.allclose(lab_stats(frame)[0], target_mean, atol=5)  # it did have to move


def test_strength_zero_keeps_the_frame_and_a_mask_keeps_the_outside():
    frame, reference = smooth_image(0, 60, 140), smooth_image(1, 110, 210)
    unchanged = create_editor("color-transfer", strength="0").edit(frame, references=[reference])
    assert np.abs(np.asarray(unchanged, int) - np.asarray(frame, int)).max() <= 1
    mask = np.zeros((40, 48), np.uint8)
    mask[:, :24] = 255
    edited = create_editor("color-transfer").edit(frame, references=[reference], mask=Image.fromarray(mask))
    assert np.array_equal(np.asarray(edited)[:, 24:], np.asarray(frame)[:, 24:])
    assert not np.array_equal(np.asarray(edited)[:, :24], np.asarray(frame)[:, :24])


@pytest.mark.parametrize("references", [0, 2])
def test_it_takes_exactly_one_reference(references):
    frame = smooth_image(0, 60, 140)
    with pytest.raises(Exception, match="takes 1 reference images"):
        create_editor("color-transfer").edit(frame, references=[frame] * references)
