"""Does the toy Wan VAE's latent hold colour? Least-squares from each latent pixel to its 4x4 patch's mean
RGB, and to its chroma (RGB minus grey), on held-out frames (1-frame clips); R^2 of each."""

import sys

import numpy as np
import torch

from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.train import to_pixels
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair

torch.set_num_threads(1)
pipe = AnyV2VPipeline.from_pretrained(sys.argv[1], backbone="wan", progress=False, use_cache=False)
vae = pipe.backbone.vae
frames = np.stack(
    [
        clip_pair(s, "recolor", size=64, num_frames=9, world=World.of_model(sys.argv[1]))[0][0]
        for s in HELDOUT_SEEDS[:24]
    ]
)
px = to_pixels(frames).unsqueeze(2)
with torch.no_grad():
    z = vae.encode(px).latent_dist.mean[:, :, 0]  # (N, C, 16, 16)
    rec = vae.decode(vae.encode(px).latent_dist.mean).sample[:, :, 0]
target = torch.nn.functional.avg_pool2d(px[:, :, 0], 4)  # (N, 3, 16, 16)
X = torch.cat([z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), torch.ones(z.shape[0] * 256, 1)], 1)
for name, t in (("rgb", target), ("chroma", target - target.mean(1, keepdim=True)), ("decoded chroma", None)):
    if t is None:
        d = torch.nn.functional.avg_pool2d(rec, 4)
        d = d - d.mean(1, keepdim=True)
        c = target - target.mean(1, keepdim=True)
        print(f"decoded chroma std {d.std():.3f} vs true chroma std {c.std():.3f}")
        continue
    Y = t.permute(0, 2, 3, 1).reshape(-1, 3)
    W = torch.linalg.lstsq(X, Y).solution
    r2 = 1 - ((X @ W - Y) ** 2).sum() / ((Y - Y.mean(0)) ** 2).sum()
    print(f"linear R^2 latent -> {name}: {r2:.3f}")
