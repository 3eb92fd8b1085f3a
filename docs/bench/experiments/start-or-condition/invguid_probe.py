"""Does guiding the inversion (toward the source frame's condition) leave less of the source's look in the start?
invguid_probe.py BACKBONE MODEL CLIPS G1,G2,... [THREADS]"""

import dataclasses
import sys

from toy_probe import mean_scores, toy_pipeline

from anyv2v.toy.world import EDITS

name, model, clips = sys.argv[1], sys.argv[2], int(sys.argv[3])
scales = [float(g) for g in sys.argv[4].split(",")]
pipe, base = toy_pipeline(name, model, int(sys.argv[5]) if len(sys.argv) > 5 else 1)
print("sampling guidance", base.sampling.guidance_scale, flush=True)
for edit in EDITS:
    for g in scales:
        config = dataclasses.replace(base, inversion=dataclasses.replace(base.inversion, guidance_scale=g))
        print(f"{edit:10s} inversion guidance {g:g}: {mean_scores(pipe, config, edit, clips)}", flush=True)
