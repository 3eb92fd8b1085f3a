"""The toy model's training data: what each training step sees, drawn from (seed, stage, step) alone.

NumPy only, so that worker processes can render batches ahead of training without loading torch: a GPU
consumes a batch faster than one core renders it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

from anyv2v.toy.world import (
    EDITS,
    FIRST_WORLD,
    HELDOUT_SEEDS,
    Scene,
    World,
    edit_scene,
    random_scene,
    render,
    render_frame,
)

FRAMES, FPS = 8, 8.0
EDITED_SHARE = 0.5  # of training scenes that are an edited twin
STAGES = ("vae", "unet", "decoder")


@dataclass(frozen=True)
class Footage:
    """What a toy model's training clips look like: their side in pixels, their length, their world."""

    size: int
    frames: int = FRAMES
    world: World = FIRST_WORLD


def step_random(seed: int, stage: str, step: int) -> tuple[np.random.Generator, int]:
    """The data generator of one training step, and the seed of its noise (drawn first)."""
    rng = np.random.default_rng([seed, STAGES.index(stage), step])
    return rng, int(rng.integers(2**62))


def training_scene(rng: np.random.Generator, footage: Footage) -> Scene:
    """A scene from a seed below the held-out range, in half the draws with one of the world's edits applied:
    random scenes alone never hold a textured object, which the restyle edit asks the model to make."""
    seed = int(rng.integers(0, HELDOUT_SEEDS.start))
    scene = random_scene(seed, footage.size, footage.frames, footage.world)
    return edit_scene(scene, str(rng.choice(EDITS)), seed) if rng.random() < EDITED_SHARE else scene


def training_clips(rng: np.random.Generator, count: int, footage: Footage) -> list[np.ndarray]:
    return [render(training_scene(rng, footage)) for _ in range(count)]


def training_frames(rng: np.random.Generator, count: int, footage: Footage) -> np.ndarray:
    """Single frames, each from its own clip: a batch of them is far more varied than a batch of whole clips,
    whose frames repeat one scene, and the VAE generalizes several times faster."""
    scenes = (training_scene(rng, footage) for _ in range(count))
    return np.stack([render_frame(scene, int(rng.integers(footage.frames))) for scene in scenes])


def training_frames_and_clips(
    rng: np.random.Generator, count: tuple[int, int], footage: Footage
) -> tuple[np.ndarray, list[np.ndarray]]:
    """`count` = (single frames, each from its own clip; whole clips): the frames keep a step's scenes varied,
    the clips teach a VAE that mixes frames what neighbours look like."""
    frames, clips = count
    return training_frames(rng, frames, footage), training_clips(rng, clips, footage)


DRAWS = {"clips": training_clips, "frames": training_frames, "frames and clips": training_frames_and_clips}


def step_batch(
    seed: int, stage: str, count: int | tuple[int, int], step: int, *, footage: Footage, draw: str
) -> object:
    """What `stage` trains on at `step`: `count` items of the kind `draw` names (`DRAWS`; a pair of counts for
    "frames and clips")."""
    rng, _ = step_random(seed, stage, step)
    return DRAWS[draw](rng, count, footage)


class RenderedAhead:
    """Batches rendered by `workers` processes, two per worker ahead of training; with none, in place. Every
    batch depends on its step alone, so the data, and the trained weights, do not depend on `workers`."""

    def __init__(self, render_step: Callable[[int], object], steps: range, workers: int):
        self.render_step, self.steps = render_step, steps
        self.pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 0 else None
        self.pending: dict[int, Future] = {}
        self.ahead = 2 * workers

    def __enter__(self) -> RenderedAhead:
        return self

    def __exit__(self, *error) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def __call__(self, step: int) -> object:
        if self.pool is None:
            return self.render_step(step)
        position = self.steps.index(step)
        for upcoming in self.steps[position : position + self.ahead]:
            if upcoming not in self.pending:
                self.pending[upcoming] = self.pool.submit(self.render_step, upcoming)
        return self.pending.pop(step).result()
