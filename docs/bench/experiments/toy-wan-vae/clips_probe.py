"""Does the toy Wan's VAE learn its packed frames faster with more whole clips a step?
clips_probe.py INIT OUTPUT CLIPS STEPS [SEED]: continue INIT's VAE for STEPS steps (a fresh cosine schedule
from 1e-4, seed SEED or 9, float32) with CLIPS whole 9-frame clips beside the 16 single frames of each step
(`train-toy --vae-clips`; by default it draws one), keeping a copy of the checkpoint every 100 steps
(OUTPUT.checkpoints/vae-STEP.pt) for ckpt_chroma.py."""

import shutil
import sys
from pathlib import Path

from anyv2v.toy.config import TrainConfig
from anyv2v.toy.train import Checkpoints, train_toy

init, output, clips, steps = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 9


def save_and_keep(self, stage, state, save=Checkpoints.save):
    save(self, stage, state)
    shutil.copy(self.folder / f"{stage}.pt", self.folder / f"{stage}-{len(state['losses'])}.pt")


Checkpoints.save = save_and_keep
config = TrainConfig(
    backbone="wan", seed=seed, init=init, object_radius_min=0.15, object_radius_max=0.3, vae_steps=steps,
    vae_clips=clips, unet_steps=0, decoder_steps=0, checkpoint_every=100,
)  # fmt: skip
train_toy(output, config, lambda message: print(message, flush=True))
