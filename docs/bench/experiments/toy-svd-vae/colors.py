"""Global colour error vs structure error of a toy SVD VAE (held-out clips)."""

import sys

import numpy as np
import torch
from diffusers import AutoencoderKLTemporalDecoder

from anyv2v.toy.train import to_pixels
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair

vae = AutoencoderKLTemporalDecoder.from_pretrained(sys.argv[1] + "/vae")
glob, struct = [], []
with torch.no_grad():
    for seed in HELDOUT_SEEDS[:6]:
        src = clip_pair(seed, "recolor", size=64, num_frames=8, world=World((0.15, 0.3)))[0]
        x = to_pixels(src)
        r = vae.decode(vae.encode(x).latent_dist.mean, num_frames=8).sample
        mx, mr = x.mean((2, 3), keepdim=True), r.mean((2, 3), keepdim=True)
        glob.append(float((mx - mr).abs().mean() * 127.5))
        struct.append(float(((x - mx) - (r - mr)).abs().mean() * 127.5))
print(sys.argv[1], "per-frame mean colour error", round(np.mean(glob), 2), "structure error", round(np.mean(struct), 2))
