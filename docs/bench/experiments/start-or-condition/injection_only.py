"""Can injection alone hold the source's layout and motion on a toy? Sampling from fresh noise (or AnyV2V's
inverted start) with every injection kind at a given share of the steps. injection_only.py BACKBONE MODEL CLIPS
SPEC[;SPEC...], SPEC = label:init:fraction[:every-resnet], init 'inverted' or 'noise', fraction '-' for the
preset's own; 'every-resnet' (I2VGen-XL) injects the conv kind at every decoder ResNet."""

import sys

from toy_probe import mean_scores, toy_pipeline

from anyv2v.evaluation.bench import _injection, _sampling
from anyv2v.toy.world import EDITS

EVERY_RESNET = {"conv": ("up_blocks.[123].resnets.*.conv2",)}

name, model, clips = sys.argv[1], sys.argv[2], int(sys.argv[3])
specs = [s.split(":") for s in sys.argv[4].split(";")]
pipe, config = toy_pipeline(name, model)
kinds = type(pipe.backbone).injection_kinds
for e in EDITS:
    for label, init, fraction, *extra in specs:
        cfg = _sampling(config, init=init)
        if fraction != "-":
            cfg = _injection(cfg, EVERY_RESNET if extra == ["every-resnet"] else None,
                             **dict.fromkeys(kinds, float(fraction)))  # fmt: skip
        print(f"{e:10s} {label:24s} {mean_scores(pipe, cfg, e, clips)}", flush=True)
