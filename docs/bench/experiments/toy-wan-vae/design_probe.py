"""Which toy Wan VAE learns fastest: `design_probe.py Z_DIM TEMPORAL LR STEPS [WARMUP [2.2]]` trains a fresh
`AutoencoderKLWan` (base width 32, 4x in space; TEMPORAL 4 or 2 in time; Z_DIM latent channels; with 2.2, Wan
2.2's residual blocks, whose shortcuts pack and unpack pixels without weights) on train-toy's
"frames and clips" draws and prints, every 50 steps, the PSNR of 4 held-out true edited clips encoded and
decoded whole: frame 0, frames 1.., all."""

import sys
import time

import numpy as np
import torch
from diffusers import AutoencoderKLWan

from anyv2v.toy.data import DRAWS, Footage
from anyv2v.toy.train import _reconstruction_loss, optimizer_step, to_pixels
from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * np.log10(1 / ((a - b) / 2).pow(2).mean().item())


def held_out_clips(world: World) -> torch.Tensor:
    clips = [clip_pair(s, "recolor", size=64, num_frames=9, world=world)[1] for s in HELDOUT_SEEDS[:4]]
    return to_pixels(np.concatenate(clips)).unflatten(0, (4, 9)).transpose(1, 2)


if __name__ == "__main__":
    torch.set_num_threads(1)
    z_dim, temporal, lr, steps = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    warmup = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    residual = len(sys.argv) > 6 and sys.argv[6] == "2.2"
    torch.manual_seed(1)
    vae = AutoencoderKLWan(
        base_dim=32, z_dim=z_dim, dim_mult=[1, 2, 2], num_res_blocks=1,
        temperal_downsample=[False, True] if temporal == 2 else [True, True],
        latents_mean=[0.0] * z_dim, latents_std=[1.0] * z_dim, scale_factor_spatial=4,
        scale_factor_temporal=temporal, is_residual=residual,
    ).train()  # fmt: skip
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)
    world = World((0.15, 0.3))
    foot, video = Footage(64, world=world, frames=9), held_out_clips(world)
    start, losses = time.time(), []
    for step in range(1, steps + 1):
        batch = DRAWS["frames and clips"](np.random.default_rng([7, step]), 16, foot)
        loss = _reconstruction_loss(vae, "frames and clips", 9, step, batch)
        optimizer_step(loss, vae.parameters(), opt, sched)
        losses.append(loss.item())
        if step % 50 == 0:
            with torch.no_grad():
                rec = vae.decode(vae.encode(video).latent_dist.mean).sample
            print(
                f"step {step} loss {np.mean(losses[-50:]):.4f} PSNR frame 0 {psnr(rec[:, :, :1], video[:, :, :1]):.2f}"
                f" frames 1.. {psnr(rec[:, :, 1:], video[:, :, 1:]):.2f} all {psnr(rec, video):.2f} dB"
                f" ({time.time() - start:.0f} s)",
                flush=True,
            )
