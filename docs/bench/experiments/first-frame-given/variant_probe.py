"""carried frame 0 / frames 1.. and PSNR of `fast` at the toy settings with sampling fields changed:
variant_probe.py BACKBONE MODEL CLIPS THREADS 'label:field=value,field=value' ..."""

import dataclasses
import sys

import numpy as np
import torch

from anyv2v.backbones import backbone_class
from anyv2v.cli.options import load_pipeline
from anyv2v.config import RuntimeConfig
from anyv2v.evaluation.bench import decoded_frames
from anyv2v.evaluation.metrics import carried, psnr
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

name, model, clips, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
kind = backbone_class(name)
base = kind.toy_settings(kind.preset("fast"))
pipe = load_pipeline(base, RuntimeConfig(model=model, backbone=name, quiet=True, use_cache=False, threads=threads))
video, world = base.video, World.of_model(pipe.model_id)
variants = {}
for spec in sys.argv[5:]:
    label, _, fields = spec.partition(":")
    changes = dict(f.split("=") for f in fields.split(",") if f)
    changes = {k: (float(v) if k in ("eta", "guidance_scale") else v) for k, v in changes.items()}
    variants[label] = dataclasses.replace(base, sampling=dataclasses.replace(base.sampling, **changes))
for edit in EDITS:
    res = {label: [] for label in variants}
    for seed in HELDOUT_SEEDS[:clips]:
        source, truth = clip_pair(seed, edit, size=video.height, num_frames=video.num_frames, world=world)
        for label, config in variants.items():
            out = pipe.edit(
                to_images(source),
                to_images(truth)[0],
                "",
                config=config,
                output_type="latent",
                generator=torch.Generator().manual_seed(0),
            )
            frames = decoded_frames(pipe, out, config)
            res[label].append(
                (
                    carried(frames, source, truth, slice(0, 1)),
                    carried(frames, source, truth, slice(1, None)),
                    psnr(frames, truth),
                )
            )
    for label in variants:
        a = np.array(res[label])
        print(
            f"{edit:10s} {label:12s}"
            f" frame0 {a[:, 0].mean():.2f} frames1.. {a[:, 1].mean():.2f} psnr {a[:, 2].mean():.2f}",
            flush=True,
        )
