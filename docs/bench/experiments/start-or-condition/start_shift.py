"""The source's inverted start shifted towards the first frame's edit: z = z_inv + LAMBDA * (E(paste) - E(source)),
where paste is the source with the first frame's pixel edit added to every frame (the trivial baseline) and E
the VAE encoder; only the edit branch starts there, the source branch keeps the true inversion.
start_shift.py BACKBONE MODEL CLIPS LAMBDA[,LAMBDA...]"""

import sys

import numpy as np
import torch
from toy_probe import mean_line, probe_row, toy_pipeline

import anyv2v.pipeline
from anyv2v.evaluation.bench import edit_synthetic_clip, paste_first_frame_edit, scores
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

name, model, clips, lambdas = sys.argv[1], sys.argv[2], int(sys.argv[3]), [float(x) for x in sys.argv[4].split(",")]
pipe, config = toy_pipeline(name, model, threads=2)
world, video = World.of_model(pipe.model_id), config.video
sample = anyv2v.pipeline.sample
state = {}


def shifted_sample(denoiser, latents, *args, **kwargs):
    return sample(denoiser, latents + state["shift"].reshape(latents.shape).to(latents.dtype), *args, **kwargs)


def encoded(frames: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return pipe.backbone.encode_video(to_images(frames), sample=False, generator=None)


anyv2v.pipeline.sample = shifted_sample
for edit in EDITS:
    res = {}
    for seed in HELDOUT_SEEDS[:clips]:
        source, truth = clip_pair(seed, edit, size=video.height, num_frames=video.num_frames, world=world)
        delta = encoded(paste_first_frame_edit(source, truth[0])) - encoded(source)
        for lam in lambdas:
            state["shift"] = lam * delta
            scored = scores(*edit_synthetic_clip(pipe, config, seed, edit, 0), edit, seed)
            res.setdefault(lam, []).append(probe_row(scored))
    for lam in lambdas:
        print(f"{edit:10s} lambda {lam:<5} {mean_line(res[lam])}", flush=True)
