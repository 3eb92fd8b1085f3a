"""Short run of the toy Wan VAE: `vae_probe2.py LR STEPS THREADS [DRAW]`, on single frames (1-frame clips) alone, or
with DRAW "frames and clips" as train-toy draws them; every 25 steps, how much chroma its latent holds."""

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from anyv2v.toy.data import DRAWS, Footage
from anyv2v.toy.model import toy_wan_components
from anyv2v.toy.train import _reconstruction_loss, to_pixels
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair


def chroma_r2(vae, held):
    """R^2 of the best linear map from each latent pixel (and a constant) to its 4x4 patch's mean chroma."""
    with torch.no_grad():
        z = vae.encode(held).latent_dist.mean[:, :, 0]
    t = F.avg_pool2d(held[:, :, 0], 4)
    t = t - t.mean(1, keepdim=True)
    X = torch.cat([z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), torch.ones(z.shape[0] * 256, 1)], 1)
    Y = t.permute(0, 2, 3, 1).reshape(-1, 3)
    W = torch.linalg.lstsq(X, Y).solution
    return (1 - ((X @ W - Y) ** 2).sum() / ((Y - Y.mean(0)) ** 2).sum()).item()


def held_out_frames(world):
    return to_pixels(
        np.stack([clip_pair(s, "recolor", size=64, num_frames=9, world=world)[0][0] for s in HELDOUT_SEEDS[:24]])
    ).unsqueeze(2)


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[3]))
    lr, steps = float(sys.argv[1]), int(sys.argv[2])
    draw = sys.argv[4] if len(sys.argv) > 4 else "frames"
    vae = toy_wan_components(Path("/tmp/scratch-probe"), 0, 32, 1)["vae"].train()
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0)
    foot = Footage(64, world=World((0.15, 0.3)), frames=9)
    held = held_out_frames(World((0.15, 0.3)))
    t = time.time()
    acc = []
    print(f"step 0 chroma R^2 {chroma_r2(vae, held):.3f}", flush=True)
    for step in range(1, steps + 1):
        batch = DRAWS[draw](np.random.default_rng([7, step]), 16, foot)
        loss = _reconstruction_loss(vae, "single-frame clips" if draw == "frames" else draw, 9, step, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc.append(loss.item())
        if step % 25 == 0:
            print(
                f"step {step} loss {np.mean(acc[-25:]):.4f}"
                f" chroma R^2 {chroma_r2(vae, held):.3f} {time.time() - t:.0f}s",
                flush=True,
            )
