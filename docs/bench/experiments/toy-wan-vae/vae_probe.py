"""Short runs of the toy Wan VAE on single frames: `python vae_probe.py LR STEPS`, the loss per 25 steps."""

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from anyv2v.toy.data import Footage, training_frames
from anyv2v.toy.model import toy_wan_components
from anyv2v.toy.train import to_pixels
from anyv2v.toy.world import World

torch.set_num_threads(2)
lr, steps, mode = float(sys.argv[1]), int(sys.argv[2]), "plain"
c = toy_wan_components(Path("/tmp/scratch-probe"), 0, 32, 1)
vae = c["vae"].train()
opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0)
foot = Footage(64, world=World((0.15, 0.3)), frames=9)
t = time.time()
acc = []
for step in range(1, steps + 1):
    rng = np.random.default_rng([7, step])
    px = to_pixels(training_frames(rng, 16, foot)).unsqueeze(2)
    post = vae.encode(px).latent_dist
    z = post.mean
    rec = vae.decode(z).sample
    loss = F.mse_loss(rec, px) + 0.5 * F.l1_loss(rec, px)
    opt.zero_grad()
    loss.backward()
    opt.step()
    acc.append(loss.item())
    if step % 25 == 0:
        print(
            f"{mode} lr {lr} step {step} loss {np.mean(acc[-25:]):.4f}"
            f" mse {F.mse_loss(rec, px).item():.4f} {time.time() - t:.0f}s",
            flush=True,
        )
