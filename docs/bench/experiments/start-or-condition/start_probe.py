"""Which start carries more of an edit: the source's inversion (AnyV2V), the inversion of the source with its
first frame replaced by the edited frame, or the truth's (oracle)?  start_probe.py BACKBONE MODEL CLIPS"""

import sys

import numpy as np
import torch
from toy_probe import toy_pipeline

from anyv2v.evaluation.bench import decoded_frames
from anyv2v.evaluation.metrics import carried, psnr
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

name, model, clips = sys.argv[1], sys.argv[2], int(sys.argv[3])
pipe, config = toy_pipeline(name, model)
video, world = config.video, World.of_model(pipe.model_id)
res = {}
for edit in EDITS:
    for seed in HELDOUT_SEEDS[:clips]:
        source, truth = clip_pair(seed, edit, size=video.height, num_frames=video.num_frames, world=world)
        mixed = np.concatenate([truth[:1], source[1:]])
        for start_name, start in (("source", source), ("edited first", mixed), ("truth", truth)):
            out = pipe.edit(
                to_images(start),
                to_images(truth)[0],
                "",
                config=config,
                output_type="latent",
                generator=torch.Generator().manual_seed(0),
            )
            frames = decoded_frames(pipe, out, config)
            r = res.setdefault((start_name, edit), [])
            r.append(
                (
                    carried(frames, source, truth, slice(0, 1)),
                    carried(frames, source, truth, slice(1, None)),
                    psnr(frames, truth),
                )
            )
    for start_name in ("source", "edited first", "truth"):
        a = np.array(res[(start_name, edit)])
        print(
            f"{edit:10s} {start_name:13s}"
            f" frame0 {a[:, 0].mean():.2f} frames1.. {a[:, 1].mean():.2f} psnr {a[:, 2].mean():.2f}",
            flush=True,
        )
