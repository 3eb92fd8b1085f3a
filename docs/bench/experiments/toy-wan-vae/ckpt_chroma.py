"""Chroma R^2 of a toy Wan VAE checkpoint's latent (train-toy's FOLDER.checkpoints/vae.pt), and decoded PSNR, on
held-out first frames."""

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from anyv2v.toy.model import toy_wan_components
from anyv2v.toy.train import to_pixels
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair

torch.set_num_threads(1)
vae = toy_wan_components(Path("/tmp/scratch-probe"), 0, 32, 1)["vae"]
state = torch.load(sys.argv[1], weights_only=True)
vae.load_state_dict(state["model"])
vae.eval()
print("steps", len(state["losses"]), "mean loss of the last 50", np.mean(state["losses"][-50:]))
clips = [clip_pair(s, "recolor", size=64, num_frames=9, world=World((0.15, 0.3)))[1] for s in HELDOUT_SEEDS[:12]]
held = to_pixels(np.stack([c[0] for c in clips])).unsqueeze(2)
with torch.no_grad():
    z = vae.encode(held).latent_dist.mean[:, :, 0]
    video = to_pixels(np.concatenate(clips[:4])).unflatten(0, (4, 9)).transpose(1, 2)
    rec = vae.decode(vae.encode(video).latent_dist.mean).sample
t = F.avg_pool2d(held[:, :, 0], 4)
t = t - t.mean(1, keepdim=True)
X = torch.cat([z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), torch.ones(z.shape[0] * 256, 1)], 1)
Y = t.permute(0, 2, 3, 1).reshape(-1, 3)
W = torch.linalg.lstsq(X, Y).solution
print("chroma R^2", (1 - ((X @ W - Y) ** 2).sum() / ((Y - Y.mean(0)) ** 2).sum()).item())
mse = ((rec - video) / 2).pow(2).mean().item()
print(
    f"whole-clip PSNR {10 * np.log10(1 / mse):.2f} dB; "
    f"decoded chroma std {(rec - rec.mean(1, keepdim=True)).std():.3f} "
    f"vs {(video - video.mean(1, keepdim=True)).std():.3f}"
)
