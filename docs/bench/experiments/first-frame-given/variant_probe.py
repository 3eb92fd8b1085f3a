"""carried frame 0 / frames 1.. and PSNR of `fast` at the toy settings with sampling fields changed:
variant_probe.py BACKBONE MODEL CLIPS THREADS 'label:field=value,field=value' ..."""

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "start-or-condition"))
from toy_probe import mean_scores, toy_pipeline  # noqa: E402

from anyv2v.toy.world import EDITS  # noqa: E402

name, model, clips, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pipe, base = toy_pipeline(name, model, threads)
variants = {}
for spec in sys.argv[5:]:
    label, _, fields = spec.partition(":")
    changes = dict(f.split("=") for f in fields.split(",") if f)
    changes = {k: (float(v) if k in ("eta", "guidance_scale") else v) for k, v in changes.items()}
    variants[label] = dataclasses.replace(base, sampling=dataclasses.replace(base.sampling, **changes))
for edit in EDITS:
    for label, config in variants.items():
        print(f"{edit:10s} {label:12s} {mean_scores(pipe, config, edit, clips)}", flush=True)
