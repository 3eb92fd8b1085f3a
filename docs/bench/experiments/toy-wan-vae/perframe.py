"""PSNR of each frame of 8 held-out clips, encoded and decoded whole by a toy Wan model folder's VAE:
perframe.py FOLDER"""

import sys

import numpy as np
import torch
from diffusers import AutoencoderKLWan

from anyv2v.toy.train import to_pixels
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair

torch.set_num_threads(1)
vae = AutoencoderKLWan.from_pretrained(sys.argv[1], subfolder="vae", torch_dtype=torch.float32).eval()
clips = [clip_pair(s, "recolor", size=64, num_frames=9, world=World((0.15, 0.3)))[0] for s in HELDOUT_SEEDS[:8]]
video = to_pixels(np.concatenate(clips)).unflatten(0, (8, 9)).transpose(1, 2)
with torch.no_grad():
    rec = vae.decode(vae.encode(video).latent_dist.mean).sample.clamp(-1, 1)
mse = ((rec - video) / 2).pow(2).mean(dim=(0, 1, 3, 4))
print("per-frame PSNR", " ".join(f"{v:.1f}" for v in (10 * torch.log10(1 / mse)).tolist()))
print("whole", 10 * np.log10(1 / ((rec - video) / 2).pow(2).mean().item()))
