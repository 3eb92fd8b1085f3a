"""Weight-free motion metrics of an edited video, from OpenCV's DIS optical flow, on uint8 (frames, H, W, 3) RGB arrays.

An edit should keep the source's motion and stay temporally coherent; both show in dense optical flow without any
learned model: the output's flow should match the source's, and each frame should follow from the previous one.
"""

from __future__ import annotations

import numpy as np

from anyv2v.errors import AnyV2VError


def optical_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Dense (H, W, 2) float32 flow in pixels such that first[y, x] ≈ second[y + dy, x + dx].

    DIS (medium preset) is fast on the CPU and needs no weights, so the metric runs anywhere the extra is installed.
    """
    cv2 = _cv2()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gray = [cv2.cvtColor(np.ascontiguousarray(frame, dtype=np.uint8), cv2.COLOR_RGB2GRAY) for frame in (first, second)]
    return dis.calc(gray[0], gray[1], None).astype(np.float32)


def video_flows(video: np.ndarray) -> list[np.ndarray]:
    """The flow of each consecutive pair of frames: the video's motion, frames - 1 fields."""
    _check_frames(video)
    return [optical_flow(video[t], video[t + 1]) for t in range(len(video) - 1)]


def motion_alignment(video: np.ndarray, source: np.ndarray) -> list[float]:
    """Per consecutive pair, the mean end-point error in pixels between the output's and the source's flow.

    An edit that keeps the source's motion scores near 0; larger values mean the output moves differently.
    """
    if video.shape != source.shape:
        raise AnyV2VError(
            f"the output's shape {tuple(video.shape)} differs from the source's {tuple(source.shape)}: "
            "motion alignment compares videos of the same frame count and size"
        )
    return [
        float(np.mean(np.linalg.norm(ours - theirs, axis=-1)))
        for ours, theirs in zip(video_flows(video), video_flows(source), strict=True)
    ]


def warp_errors(video: np.ndarray) -> list[float]:
    """Per consecutive pair t, mean |frame t - frame t+1 warped back by the flow t→t+1| on a 0-1 scale.

    Flicker and content that appears from nowhere are not explained by motion, so they remain after warping. Only
    pixels whose flow target lies inside the frame count, since the others have nothing to be compared with.
    """
    cv2 = _cv2()
    height, width = video.shape[1:3]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    errors = []
    for t, flow in enumerate(video_flows(video)):
        map_x, map_y = x + flow[..., 0], y + flow[..., 1]
        warped = cv2.remap(video[t + 1], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
        difference = np.abs(warped.astype(np.float64) - video[t].astype(np.float64)) / 255.0
        errors.append(float(difference[inside].mean()) if inside.any() else float("nan"))
    return errors


def _check_frames(video: np.ndarray) -> None:
    if len(video) < 2:
        raise AnyV2VError(f"motion metrics need at least 2 frames, the video has {len(video)}: pass a longer video")


def _cv2():
    try:
        import cv2
    except ImportError:
        raise AnyV2VError("motion metrics need OpenCV: pip install 'anyv2v[opencv]'") from None
    return cv2
