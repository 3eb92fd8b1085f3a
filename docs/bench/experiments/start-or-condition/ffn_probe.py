"""Wan: inject a block's feed-forward update (blocks.N.ffn output) instead of its whole output, beside the
default (attention 0%-100% at 0.8). ffn_probe.py MODEL CLIPS SPEC[;SPEC...], SPEC = label:pattern:fraction"""

import sys

from toy_probe import mean_scores, toy_pipeline

from anyv2v.evaluation.bench import _injection
from anyv2v.toy.world import EDITS

model, clips = sys.argv[1], int(sys.argv[2])
specs = [s.split(":") for s in sys.argv[3].split(";")]
pipe, config = toy_pipeline("wan", model)
for edit in EDITS:
    for label, pattern, fraction in specs:
        cfg = config if pattern == "-" else _injection(config, sites={"hidden": (pattern,)}, hidden=float(fraction))
        print(f"{edit:10s} {label:14s} {mean_scores(pipe, cfg, edit, clips)}", flush=True)
