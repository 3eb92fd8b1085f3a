"""Does guiding the inversion (toward the source frame's condition) leave less of the source's look in the start?
invguid_probe.py BACKBONE MODEL CLIPS G1,G2,..."""

import dataclasses
import sys

import numpy as np
import torch
from toy_probe import toy_pipeline

from anyv2v.evaluation.bench import decoded_frames
from anyv2v.evaluation.metrics import carried, psnr
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

name, model, clips = sys.argv[1], sys.argv[2], int(sys.argv[3])
scales = [float(g) for g in sys.argv[4].split(",")]
pipe, base = toy_pipeline(name, model, int(sys.argv[5]) if len(sys.argv) > 5 else 1)
video, world = base.video, World.of_model(pipe.model_id)
print("sampling guidance", base.sampling.guidance_scale, flush=True)
for edit in EDITS:
    res = {g: [] for g in scales}
    for seed in HELDOUT_SEEDS[:clips]:
        source, truth = clip_pair(seed, edit, size=video.height, num_frames=video.num_frames, world=world)
        for g in scales:
            config = dataclasses.replace(base, inversion=dataclasses.replace(base.inversion, guidance_scale=g))
            out = pipe.edit(
                to_images(source),
                to_images(truth)[0],
                "",
                config=config,
                output_type="latent",
                generator=torch.Generator().manual_seed(0),
            )
            frames = decoded_frames(pipe, out, config)
            res[g].append(
                (
                    carried(frames, source, truth, slice(0, 1)),
                    carried(frames, source, truth, slice(1, None)),
                    psnr(frames, truth),
                )
            )
    for g in scales:
        a = np.array(res[g])
        print(
            f"{edit:10s} inversion guidance {g:g}:"
            f" frame0 {a[:, 0].mean():.2f} frames1.. {a[:, 1].mean():.2f} psnr {a[:, 2].mean():.2f}",
            flush=True,
        )
