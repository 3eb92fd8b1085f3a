"""Which start carries more of an edit: the source's inversion (AnyV2V), the inversion of the source with its
first frame replaced by the edited frame, or the truth's (oracle)?  start_probe.py BACKBONE MODEL CLIPS"""

import sys

import numpy as np
import torch
from toy_probe import mean_line, probe_row, toy_pipeline

from anyv2v.evaluation.bench import decoded_frames, scores
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

STARTS = ("source", "edited first", "truth")

name, model, clips = sys.argv[1], sys.argv[2], int(sys.argv[3])
pipe, config = toy_pipeline(name, model)
video, world = config.video, World.of_model(pipe.model_id)
for edit in EDITS:
    rows = {start_name: [] for start_name in STARTS}
    for seed in HELDOUT_SEEDS[:clips]:
        source, truth = clip_pair(seed, edit, size=video.height, num_frames=video.num_frames, world=world)
        starts = (source, np.concatenate([truth[:1], source[1:]]), truth)
        for start_name, start in zip(STARTS, starts, strict=True):
            generator = torch.Generator().manual_seed(0)
            out = pipe.edit(to_images(start), to_images(truth)[0], "", config=config, output_type="latent",
                            generator=generator)  # fmt: skip
            scored = scores(decoded_frames(pipe, out, config), source, truth, edit, seed)
            rows[start_name].append(probe_row(scored))
    for start_name in STARTS:
        print(f"{edit:10s} {start_name:13s} {mean_line(rows[start_name])}", flush=True)
