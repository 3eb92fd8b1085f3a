"""Held-out clip 0 (recolor's truth), frames 0, 4, 8, scaled 4x: top the clip, bottom encoded and decoded."""

import sys

import numpy as np
import torch
from PIL import Image

from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair, to_images

torch.set_num_threads(1)
model, out = sys.argv[1], sys.argv[2]
pipe = AnyV2VPipeline.from_pretrained(model, backbone="wan", progress=False, use_cache=False)
_, truth = clip_pair(HELDOUT_SEEDS[0], "recolor", size=64, num_frames=9, world=World.of_model(model))
lat = pipe.backbone.encode_video(to_images(truth), sample=False, generator=None)
d = (pipe.backbone.decode_video(lat, 9, lambda x, d: x).float().cpu().numpy() * 255).round().astype(np.uint8)
rows = [np.concatenate([v[i] for i in (0, 4, 8)], axis=1) for v in (truth, d)]
Image.fromarray(np.concatenate(rows, axis=0)).resize((3 * 64 * 4, 2 * 64 * 4), Image.NEAREST).save(out)
print("per-frame mean colour error", np.abs(d.reshape(9, -1, 3).mean(1) - truth.reshape(9, -1, 3).mean(1)).mean())
