"""Frames-1.. carried when AnyV2V starts from the truth's own inversion (an oracle start: no source/edit
conflict), against the real start from the source's; 3 clips per edit."""

import sys

import numpy as np
import torch

from anyv2v.backbones.i2vgen_xl import I2VGenXL
from anyv2v.evaluation.bench import decoded_frames
from anyv2v.evaluation.metrics import carried
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

torch.set_num_threads(1)
model = sys.argv[1]
pipe = AnyV2VPipeline.from_pretrained(model)
config = I2VGenXL.presets["toy"]
world = World.of_model(model)
for edit in EDITS:
    res = {"real": [], "oracle": []}
    for clip_seed in HELDOUT_SEEDS[:3]:
        source, truth = clip_pair(clip_seed, edit, size=32, num_frames=8, world=world)
        for name, start in (("real", source), ("oracle", truth)):
            out = pipe.edit(
                to_images(start),
                to_images(truth)[0],
                "",
                config=config,
                output_type="latent",
                generator=torch.Generator().manual_seed(0),
            )
            frames = decoded_frames(pipe, out, config)
            res[name].append(
                (carried(frames, source, truth, slice(0, 1)), carried(frames, source, truth, slice(1, None)))
            )
    print(edit, {k: np.round(np.mean(v, axis=0), 3).tolist() for k, v in res.items()}, flush=True)
