"""The page's example clips: held-out clips of the synthetic world (anyv2v/toy/world.py), each with the first
frame of its recolored twin, which is what a perfect image editor returns. They need no download, and the toy
model carries such edits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anyv2v.toy.world import FIRST_WORLD, HELDOUT_SEEDS, World, clip_pair, to_images
from anyv2v.video import write_image, write_video

EXAMPLE_CLIPS = (0, 1, 2)  # which held-out clips
EXAMPLE_EDIT = "recolor"
SIZE, FRAMES, FPS = 96, 16, 8  # two toy-model windows of 8 frames, at three times the toy model's 32 pixels


@dataclass(frozen=True)
class Example:
    video: Path
    edited_frame: Path


def example_files(folder: Path, world: World = FIRST_WORLD) -> list[Example]:
    """The examples of `world` (the one the page's model was trained on, if it names one) as files in a
    subfolder of `folder`, rendered once (the world is deterministic)."""
    folder = folder / world.tag
    examples = []
    for clip in EXAMPLE_CLIPS:
        example = Example(folder / f"synthetic-{clip}.mp4", folder / f"synthetic-{clip}.{EXAMPLE_EDIT}.png")
        if not (example.video.is_file() and example.edited_frame.is_file()):
            source, twin = clip_pair(HELDOUT_SEEDS[clip], EXAMPLE_EDIT, size=SIZE, num_frames=FRAMES, world=world)
            write_video(to_images(source), example.video, FPS)
            write_image(to_images(twin)[0], example.edited_frame)
        examples.append(example)
    return examples
