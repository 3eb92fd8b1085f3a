"""Does the decoder's clamp to [-1, 1] starve the toy Wan VAE of gradient at 1e-3, and does a warmup keep its
chroma? `clamp_probe.py LR STEPS NOCLAMP [WARMUP]`: single frames (1-frame clips), 16 a step, one thread;
every 10 steps the loss, the share of decoded values at +-1 and the latent's chroma R^2 (24 held-out frames)."""

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from vae_probe2 import chroma_r2, held_out_frames  # run from this folder

from anyv2v.toy.data import DRAWS, Footage
from anyv2v.toy.model import toy_wan_components
from anyv2v.toy.train import optimizer_step, to_pixels
from anyv2v.toy.world import World

torch.set_num_threads(1)
lr, steps, noclamp = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 0
vae = toy_wan_components(Path("/tmp/scratch-probe"), 0, 32, 1)["vae"].train()
opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)
foot = Footage(64, world=World((0.15, 0.3)), frames=9)
held = held_out_frames(World((0.15, 0.3)))
print("held pixels at +-1:", (held.abs() >= 0.999).float().mean().item())


def decode(z):
    if not noclamp:
        return vae.decode(z).sample
    x = vae.post_quant_conv(z)  # the decoder without the final clamp, one latent frame (single-frame clips)
    vae.clear_cache()
    vae._conv_idx = [0]
    out = vae.decoder(x, feat_cache=vae._feat_map, feat_idx=vae._conv_idx, first_chunk=True)
    vae.clear_cache()
    return out


t = time.time()
acc = []
clamped = []
print(f"step 0 chroma R^2 {chroma_r2(vae, held):.3f}", flush=True)
for step in range(1, steps + 1):
    frames = to_pixels(DRAWS["frames"](np.random.default_rng([7, step]), 16, foot)).unsqueeze(2)
    z = vae.encode(frames).latent_dist.mean
    y = decode(z)
    clamped.append((y.detach().abs() >= 0.999).float().mean().item())
    loss = F.mse_loss(y, frames) + 0.5 * F.l1_loss(y, frames)
    optimizer_step(loss, vae.parameters(), opt, sched)
    acc.append(loss.item())
    if step % 10 == 0:
        print(
            f"step {step} loss {np.mean(acc[-10:]):.4f} at+-1 {np.mean(clamped[-10:]):.3f}"
            f" chroma R^2 {chroma_r2(vae, held):.3f} {time.time() - t:.0f}s",
            flush=True,
        )
