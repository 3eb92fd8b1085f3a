"""VAE ceiling: encode+decode the true edited clip, carried and PSNR (20 held-out clips per edit)."""

import sys

import numpy as np
import torch

from anyv2v.evaluation.metrics import carried, psnr
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
model, backbone = sys.argv[1], sys.argv[2]
size, frames = {"svd": (64, 8), "wan": (64, 9)}.get(backbone, (32, 8))
pipe = AnyV2VPipeline.from_pretrained(model, backbone=backbone, progress=False, use_cache=False)
world = World.of_model(model)
for edit in EDITS:
    c0, c1, p = [], [], []
    for seed in HELDOUT_SEEDS[: int(sys.argv[4]) if len(sys.argv) > 4 else 20]:
        src, truth = clip_pair(seed, edit, size=size, num_frames=frames, world=world)
        lat = pipe.backbone.encode_video(to_images(truth), sample=False, generator=None)
        d = pipe.backbone.decode_video(lat, frames, lambda x, d: x).float().cpu().numpy()
        d = (d * 255).round().astype(np.uint8)
        c0.append(carried(d, src, truth, slice(0, 1)))
        c1.append(carried(d, src, truth, slice(1, None)))
        p.append(psnr(d, truth))
    print(f"{edit}: carried f0 {np.nanmean(c0):.3f} f1.. {np.nanmean(c1):.3f} psnr {np.mean(p):.2f}", flush=True)
