"""The short runs of README.md, as they ran: `python short_runs.py RUN 300` with RUN default (the design of the
time: whole clips; today the default design is frame groups), frames, kl2d (the image VAE) or grouped; lr2e-4 was
cut for time. Prints the last 50 steps' mean loss, PSNR and per-frame colour error on 6 held-out sources."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL

import anyv2v.toy.model as M
import anyv2v.toy.train as T
from anyv2v.toy.config import TrainConfig
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair

torch.set_num_threads(2)
name, steps = sys.argv[1], int(sys.argv[2])
lr = 1e-3
design = M.TOY_DESIGNS["svd"]
if name == "lr2e-4":
    lr = 2e-4
elif name == "frames":
    design = dataclasses.replace(design, vae_input="frames")
    T.vae_pixels = lambda batch, vae_input: (T.to_pixels(batch), {"num_frames": 1})
elif name == "grouped":
    design = dataclasses.replace(design, vae_input="frames")
    T.vae_pixels = lambda batch, vae_input: (T.to_pixels(batch), {"num_frames": 8})
elif name == "kl2d":

    def comps(scratch, seed=0, vae_width=64, vae_layers=1):
        c = M.toy_svd_components(scratch, seed, vae_width, vae_layers)
        torch.manual_seed(seed + 1)
        c["vae"] = AutoencoderKL(
            block_out_channels=(64,) * 3,
            down_block_types=["DownEncoderBlock2D"] * 3,
            up_block_types=["UpDecoderBlock2D"] * 3,
            latent_channels=4,
            norm_num_groups=32,
            layers_per_block=1,
            sample_size=64,
        )
        return c

    design = dataclasses.replace(design, vae_input="frames", components=comps)
T.TOY_DESIGNS["svd"] = design
M.TOY_DESIGNS["svd"] = design
cfg = TrainConfig(
    backbone="svd",
    object_radius_min=0.15,
    object_radius_max=0.3,
    vae_steps=steps,
    vae_lr=lr,
    unet_steps=0,
    decoder_steps=0,
    log_every=50,
    checkpoint_every=10000,
)
vae = design.components(Path("/tmp/scr"), 0, 64, 1)["vae"]
losses = T.train_vae(vae, cfg, print)


def psnr(a, b):
    return float(10 * torch.log10(4 / ((a - b) ** 2).mean()))


rows = []
with torch.no_grad():
    for seed in HELDOUT_SEEDS[:6]:
        x = T.to_pixels(clip_pair(seed, "recolor", size=64, num_frames=8, world=World((0.15, 0.3)))[0])
        z = vae.encode(x).latent_dist.mean
        r = vae.decode(z).sample if name == "kl2d" else vae.decode(z, num_frames=8).sample
        mx, mr = x.mean((2, 3), keepdim=True), r.mean((2, 3), keepdim=True)
        rows.append((psnr(r, x), float((mx - mr).abs().mean() * 127.5)))
print(
    "RESULT",
    name,
    steps,
    f"last-50 loss {np.mean(losses[-50:]):.4f}",
    "psnr {:.2f} colour err {:.2f}".format(*np.mean(rows, 0)),
    flush=True,
)
