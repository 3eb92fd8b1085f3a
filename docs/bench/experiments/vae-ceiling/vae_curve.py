"""The toy VAE's ceiling against training steps, for one variant of the world and the training data.

    python vae_curve.py RESTYLED STEPS LOW HIGH WIDTH

RESTYLED: share of training frames drawn restyled (negative: the trainer's own draws); LOW HIGH: object
radius range as a share of the frame (the world's own: 0.1 0.2); WIDTH: the VAE's first block. An experiment,
not part of the package: it patches the world's object sizes and the trainer's frame draws in this process.
Ceiling = carried by encode-decode of the true edited clips, 20 held-out clips per edit, every 1,000 steps.
"""

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import anyv2v.toy.world as world
from anyv2v.evaluation.metrics import carried
from anyv2v.toy import data, train
from anyv2v.toy.config import TrainConfig
from anyv2v.toy.model import toy_components

restyled, steps = float(sys.argv[1]), int(sys.argv[2])
low, high, width = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
world_shape = world._random_shape


def larger_shape(rng: np.random.Generator, size: int) -> world.Shape:
    """The world's own draw, its radius mapped from [0.1, 0.2) of the frame onto [low, high)."""
    shape = world_shape(rng, size)
    radius = (low + (shape.radius / size - 0.1) / 0.1 * (high - low)) * size
    return dataclasses.replace(shape, radius=radius, start=tuple(np.clip(shape.start, radius, size - radius)))


def frames_with_restyled_share(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """As the trainer's draws, but `restyled` of the frames restyled and half the rest edited otherwise."""
    frames = []
    for _ in range(count):
        seed = int(rng.integers(0, world.HELDOUT_SEEDS.start))
        scene, draw = world.random_scene(seed, size, data.FRAMES), rng.random()
        if draw < restyled:
            scene = world.edit_scene(scene, "restyle", seed)
        elif draw < restyled + 0.5 * (1 - restyled):
            scene = world.edit_scene(scene, str(rng.choice(world.EDITS)), seed)
        frames.append(world.render_frame(scene, int(rng.integers(data.FRAMES))))
    return np.stack(frames)


@torch.no_grad()
def ceiling(vae) -> dict[str, float]:
    scores = {}
    for edit in world.EDITS:
        clips = [world.clip_pair(seed, edit, 32, 8) for seed in world.HELDOUT_SEEDS[:20]]
        decoded = [vae.decode(vae.encode(train.to_pixels(truth)).latent_dist.mean).sample for _, truth in clips]
        frames = [((d.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy().astype(np.uint8) for d in decoded]
        shares = [carried(f, source, truth, slice(0, None)) for f, (source, truth) in zip(frames, clips, strict=True)]
        scores[edit] = round(float(np.nanmean(shares)), 3)
    return scores


torch.set_num_threads(1)
world._random_shape = larger_shape
if restyled >= 0:
    data.training_frames = frames_with_restyled_share
vae = toy_components(Path("/tmp/vae-curve-scratch"), 0, width)["vae"].train()
optimizer = torch.optim.AdamW(vae.parameters(), lr=TrainConfig().vae_lr, weight_decay=0.0)
schedule = train.cosine_schedule(optimizer, steps)
started = time.time()
for step in range(1, steps + 1):
    torch.manual_seed(step)
    loss = train._reconstruction_loss(vae, step, data.step_batch(0, "vae", 16, 32, step))
    train.optimizer_step(loss, list(vae.parameters()), optimizer, schedule)
    if step % 1000 == 0 or step == steps:
        vae.eval()
        print("ceiling", step, f"{time.time() - started:.0f}s", f"loss {loss.item():.5f}", json.dumps(ceiling(vae)))
        vae.train()
