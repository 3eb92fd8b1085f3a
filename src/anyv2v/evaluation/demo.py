"""`anyv2v demo`: an AnyV2V edit that runs offline in seconds, scored against the exact answer.

A held-out clip of the synthetic world is rendered with its edited twin; the twin's first frame plays a
perfect image editor, AnyV2V propagates it with the shipped toy model, and the result is compared with
the twin. With `--video`, a user's clip is edited instead (a hue rotation of its first frame, unless an
edited frame is given), and there is no ground truth to score against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from anyv2v.config import EditConfig
from anyv2v.evaluation.bench import scores
from anyv2v.evaluation.metrics import psnr
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import DEMO_CLIP, DEMO_EDIT, HELDOUT_SEEDS, World, clip_pair, to_images
from anyv2v.video import PREVIEW_MIN_HEIGHT, read_image, read_video, write_preview, write_video


@dataclass
class DemoResult:
    output: Path
    previews: list[Path]
    scores: dict[str, float] | None = None  # the bench's metrics against the ground truth (synthetic clips only)
    source_psnr: float | None = None  # what returning the source unchanged scores: the bar to clear


def synthetic_inputs(
    edit: str, clip: int, config: EditConfig, world: World
) -> tuple[list[Image.Image], Image.Image, np.ndarray]:
    """Source frames, the perfect edited first frame, and the ground-truth edited clip of `world`."""
    video = config.video
    source, truth = clip_pair(HELDOUT_SEEDS[clip], edit, size=video.height, num_frames=video.num_frames, world=world)
    return to_images(source), to_images(truth)[0], truth


def hue_rotated(frame: Image.Image, turn: float = 0.5) -> Image.Image:
    """A simple, weight-free stand-in for an image editor: rotate every hue by `turn` of a circle."""
    hue, saturation, value = frame.convert("HSV").split()
    shifted = hue.point(lambda h: int(h + 256 * turn) % 256)
    return Image.merge("HSV", (shifted, saturation, value)).convert("RGB")


def run_demo(
    pipe: AnyV2VPipeline,
    config: EditConfig,
    output: Path,
    *,
    edit: str = DEMO_EDIT,
    clip: int = DEMO_CLIP,
    video: Path | None = None,
    edited_frame: Path | None = None,
    seed: int = 0,
) -> DemoResult:
    size = (config.video.height, config.video.width)
    truth = None
    if video is None:
        source, first, truth = synthetic_inputs(edit, clip, config, World.of_model(pipe.model_id))
    else:
        source = read_video(video, config.video.num_frames, config.video.fps, size)
        first = read_image(edited_frame, size) if edited_frame else hue_rotated(source[0])
    frames = pipe.edit(source, first, "", config=config, generator=torch.Generator().manual_seed(seed))

    write_video(frames, output, config.video.fps)
    columns, labels = [source, [first], frames], ["source", "edited frame", "AnyV2V"]
    if truth is not None:
        columns.append(to_images(truth))
        labels.append("truth")
    previews = [
        write_preview(
            columns,
            output.with_suffix(f".preview{suffix}"),
            config.video.fps,
            labels=labels,
            min_height=PREVIEW_MIN_HEIGHT,
        )  # fmt: skip
        for suffix in (".gif", ".png")
    ]
    if truth is None:
        return DemoResult(output, previews)
    result = np.stack([np.asarray(frame) for frame in frames])
    unedited = np.stack([np.asarray(frame) for frame in source])
    scored = scores(result, unedited, truth, edit, HELDOUT_SEEDS[clip])
    return DemoResult(output, previews, scored, psnr(unedited, truth))
