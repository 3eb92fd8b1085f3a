from __future__ import annotations

import sys

import numpy as np
import pytest

from anyv2v.errors import AnyV2VError
from anyv2v.evaluation.motion import motion_alignment, optical_flow, video_flows, warp_errors


def texture(size: int = 96, seed: int = 0) -> np.ndarray:
    """Smooth, periodic random RGB texture: noise blurred (sigma 3 px) in the Fourier domain, so np.roll shifts it
    without seams and optical flow is well defined at every pixel."""
    noise = np.random.default_rng(seed).random((size, size, 3))
    frequency = np.fft.fftfreq(size)
    gaussian = np.exp(-2 * (np.pi * 3) ** 2 * (frequency[:, None] ** 2 + frequency[None, :] ** 2))
    blurred = np.fft.ifft2(np.fft.fft2(noise, axes=(0, 1)) * gaussian[..., None], axes=(0, 1)).real
    blurred = (blurred - blurred.min()) / (blurred.max() - blurred.min())
    return (blurred * 255).round().astype(np.uint8)


def moving(frames: int = 6, dx: int = 2, dy: int = 1, seed: int = 0) -> np.ndarray:
    """The texture translated by (dx, dy) more pixels each frame (wrapping around)."""
    image = texture(seed=seed)
    return np.stack([np.roll(image, (t * dy, t * dx), axis=(0, 1)) for t in range(frames)])


def test_identical_frames_have_no_warp_error_and_no_misalignment():
    still = np.repeat(texture()[None], 3, axis=0)
    assert warp_errors(still) == pytest.approx([0.0, 0.0], abs=1e-6)
    assert motion_alignment(still, still) == pytest.approx([0.0, 0.0], abs=1e-6)


def test_flow_of_a_known_translation():
    image = texture()
    shifted = np.roll(image, (2, 3), axis=(0, 1))  # 3 px right, 2 px down
    flow = optical_flow(image, shifted)
    assert flow.shape == (*image.shape[:2], 2) and flow.dtype == np.float32
    interior = flow[16:-16, 16:-16]
    assert np.abs(interior - [3, 2]).max() < 0.5
    assert [f.shape for f in video_flows(moving(frames=4))] == [(96, 96, 2)] * 3


def test_shuffled_frames_have_a_larger_warp_error_than_smooth_motion():
    video = moving(dx=3, dy=2)
    shuffled = video[[0, 3, 1, 5, 2, 4]]
    assert np.mean(warp_errors(video)) < 0.01
    assert np.mean(warp_errors(shuffled)) > 3 * np.mean(warp_errors(video))


def test_output_moving_differently_from_its_source_is_misaligned():
    source = moving(dx=2, dy=1)
    other = moving(dx=-1, dy=3, seed=1)
    assert np.mean(motion_alignment(source, source)) == pytest.approx(0.0, abs=1e-6)
    misalignment = motion_alignment(other, source)
    assert len(misalignment) == len(source) - 1
    assert np.mean(misalignment) > 2  # |(-1, 3) - (2, 1)| = 3.6 px


def test_mismatched_shapes_and_single_frames_are_one_line_errors():
    video = moving(frames=3)
    shapes = r"shape \(3, 96, 96, 3\) differs from the source's \(2, 96, 96, 3\)"
    with pytest.raises(AnyV2VError, match=shapes) as error:
        motion_alignment(video, video[:2])
    assert "\n" not in str(error.value)
    for metric in (video_flows, warp_errors, lambda v: motion_alignment(v, v)):
        with pytest.raises(AnyV2VError, match="needs? at least 2 frames") as error:
            metric(video[:1])
        assert "\n" not in str(error.value)


def test_missing_opencv_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError
    with pytest.raises(AnyV2VError, match=r"motion metrics need OpenCV: pip install 'anyv2v\[opencv\]'"):
        optical_flow(texture(), texture())
