"""Wan: inject a block's feed-forward update (blocks.N.ffn output) instead of its whole output, beside the
default (attention 0%-100% at 0.8). ffn_probe.py MODEL CLIPS SPEC[;SPEC...], SPEC = label:pattern:fraction"""

import sys

import numpy as np
from toy_probe import toy_pipeline

from anyv2v.evaluation.bench import _injection, edit_synthetic_clip, scores
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS

model, clips = sys.argv[1], int(sys.argv[2])
specs = [s.split(":") for s in sys.argv[3].split(";")]
pipe, config = toy_pipeline("wan", model)
for edit in EDITS:
    for label, pattern, fraction in specs:
        cfg = config if pattern == "-" else _injection(config, sites={"hidden": (pattern,)}, hidden=float(fraction))
        r = []
        for seed in HELDOUT_SEEDS[:clips]:
            s = scores(*edit_synthetic_clip(pipe, cfg, seed, edit, 0), edit, seed)
            r.append((s["carried_first"], s["carried"], s["psnr"]))
        r = np.array(r)
        print(
            f"{edit:10s} {label:14s} frame0 {r[:, 0].mean():.2f} frames1.. {r[:, 1].mean():.2f} "
            f"psnr {r[:, 2].mean():.2f}",
            flush=True,
        )
