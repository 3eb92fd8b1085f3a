"""Ceiling of a VAE-stage checkpoint on the larger-objects world (object radius 0.15-0.3 of the frame): carried by
encode-decode of the true edited clips, 20 held-out clips per edit. argv: VAE.pt [vae width, default 32]."""

import sys
from pathlib import Path

import numpy as np
import torch

from anyv2v.evaluation.metrics import carried, psnr
from anyv2v.toy import train as T
from anyv2v.toy.model import toy_components
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair

W = World((0.15, 0.3))
torch.set_num_threads(1)
vae = toy_components(Path("/tmp/scr"), 0, int(sys.argv[2]) if len(sys.argv) > 2 else 32)["vae"]
state = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
vae.load_state_dict(state["model"])
vae.eval()
print("steps", len(state["losses"]))
with torch.no_grad():
    for edit in EDITS:
        c0, c1, p = [], [], []
        for seed in HELDOUT_SEEDS[:20]:
            src, truth = clip_pair(seed, edit, 32, 8, world=W)
            r = vae.decode(vae.encode(T.to_pixels(truth)).latent_dist.mean).sample
            r = ((r.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy().astype(np.uint8)
            c0.append(carried(r, src, truth, slice(0, 1)))
            c1.append(carried(r, src, truth, slice(1, None)))
            p.append(psnr(r, truth))
        print(
            f"{edit}: frame 0 {np.nanmean(c0):.3f} frames 1.. {np.nanmean(c1):.3f}"
            f" min {np.nanmin(c0):.2f} psnr {np.mean(p):.2f}",
            flush=True,
        )
