"""Re-inversion: pass k starts from the inversion of pass k-1's output latents (the edited frame as condition);
the source branch (injection) keeps the source's inversion. reinvert.py BACKBONE MODEL CLIPS PASSES [THREADS]"""

import sys

import torch
from toy_probe import mean_scores, toy_pipeline

from anyv2v.inversion import inverter
from anyv2v.toy.world import EDITS

name, model, clips, passes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pipe, config = toy_pipeline(name, model, threads=int(sys.argv[5]) if len(sys.argv) > 5 else 1)
first = pipe._first_step(config)
inverted = pipe._inverted_latents
orig_edit = pipe._edit
state = {"start": None}


def patched_inverted(frames, cfg, generator):
    latents = dict(inverted(frames, cfg, generator))
    if state["start"] is not None:
        latents[first] = state["start"]
    return latents


def refined_edit(source_frames, edited, prompt, negative, cfg, generator, output_type, anchor, on_step):
    state["start"] = None
    seed = generator.initial_seed()
    for k in range(passes + 1):
        g = torch.Generator().manual_seed(seed)
        out = orig_edit(
            source_frames, edited, prompt, negative, cfg, g, "latent" if k < passes else output_type, anchor, on_step
        )
        if k == passes:
            return out
        grid = pipe.backbone.process.grid(cfg.inversion.steps)
        positions = pipe._inversion_positions(grid, cfg)
        cond = pipe._branches(edited, cfg.inversion.prompt, None, cfg, g)
        inv = inverter(cfg.inversion)(
            pipe.denoiser, out, grid, cond, cfg.inversion.guidance_scale, {positions[first]}, progress=pipe.progress_bar
        )
        state["start"] = inv[positions[first]]


pipe._inverted_latents = patched_inverted
pipe._edit = refined_edit
for edit in EDITS:
    print(f"{edit:10s} passes {passes} {mean_scores(pipe, config, edit, clips)}", flush=True)
