"""Columns source | truth | AnyV2V step-0 prediction | AnyV2V output | plain I2V step-0 prediction | plain I2V
output, frames as rows, 4x; argv: model_folder out.png"""

import sys

import numpy as np
import torch
from PIL import Image

from anyv2v.backbones.i2vgen_xl import I2VGenXL
from anyv2v.evaluation.bench import decoded_frames, plain_i2v
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair, to_images

torch.set_num_threads(1)
model, out = sys.argv[1], sys.argv[2]
pipe = AnyV2VPipeline.from_pretrained(model)
config = I2VGenXL.presets["toy"]
world = World.of_model(model)
rows = []
for clip_seed in HELDOUT_SEEDS[:2]:
    for edit in ["recolor", "background", "reshape"]:
        source, truth = clip_pair(clip_seed, edit, size=32, num_frames=8, world=world)
        cols = [source, truth]
        for cfg in (config, plain_i2v(config)):
            got = []
            lat = pipe.edit(
                to_images(source),
                to_images(truth)[0],
                "",
                config=cfg,
                output_type="latent",
                on_step=lambda p, pred, got=got: got.append(pred.denoised) if p == 0 else None,
                generator=torch.Generator().manual_seed(0),
            )
            cols += [decoded_frames(pipe, got[0], cfg), decoded_frames(pipe, lat, cfg)]

        def u8(a):
            a = np.asarray(a, dtype=np.float32)
            return (np.clip(a, 0, 1) * 255).astype(np.uint8) if a.max() <= 1.5 else a.astype(np.uint8)

        strip = np.concatenate([np.concatenate([u8(c[f]) for c in cols], axis=1) for f in range(8)], axis=0)
        rows.append(strip)
        print(clip_seed, edit, [c.shape for c in cols][:1])
pad = np.full((rows[0].shape[0], 4, 3), 255, np.uint8)
img = np.concatenate(sum([[r, pad] for r in rows], [])[:-1], axis=1)
Image.fromarray(img).resize((img.shape[1] * 4, img.shape[0] * 4), Image.NEAREST).save(out)
