"""Two other starts for the edit: the source's inversion mixed with fresh noise, z = a * z_inv + sqrt(1 - a^2)
* eps ("mixA"), or with each frame's projection on the source's clean latent brought down to the signal the
forward process holds at that level ("projBETA", BETA the share removed, default 1), or split by
spatial frequency: the start's frequencies below CUT (a fraction of the highest, per frame) kept and the rest drawn
fresh ("lowCUT"; FreeInit's split, applied to the inverted start rather than to a noised sample); "none" is AnyV2V's.
start_mix.py BACKBONE MODEL CLIPS VARIANT[,VARIANT...] [KIND=FRACTION,...] (injection fractions to override)"""

import sys

import torch
from toy_probe import mean_line, probe_row, toy_pipeline

from anyv2v.evaluation.bench import _injection, edit_synthetic_clip, scores
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS

name, model, clips, mixes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
pipe, config = toy_pipeline(name, model)
if len(sys.argv) > 5:
    config = _injection(config, **{k: float(v) for k, v in (kv.split("=") for kv in sys.argv[5].split(","))})
first = pipe._first_step(config)
F = pipe.backbone.latent_layout.index("F")
inverted = pipe._inverted_latents
state = {}


def low_frequencies(size: tuple[int, int], cut: float) -> torch.Tensor:
    """Where |f| < cut * the highest frequency, on fft2's grid of an H x W frame."""
    fy, fx = (torch.fft.fftfreq(n) / 0.5 for n in size)
    return (fy[:, None] ** 2 + fx[None, :] ** 2).sqrt() < cut


def mixed(frames, cfg, generator):
    latents = dict(inverted(frames, cfg, generator))
    variant, z = state["a"], latents[first]
    if variant.startswith("mix"):
        a = float(variant[3:])
        eps = torch.randn(z.shape, generator=torch.Generator().manual_seed(state["seed"]))
        z = a * z + (1 - a * a) ** 0.5 * eps * z.std() / eps.std()
    elif variant.startswith("low"):
        eps = torch.randn(z.shape, generator=torch.Generator().manual_seed(state["seed"])) * z.std()
        keep = low_frequencies(z.shape[-2:], float(variant[3:]))
        z = torch.fft.ifft2(torch.fft.fft2(z.float()) * keep + torch.fft.fft2(eps) * ~keep).real.to(z.dtype)
    elif variant.startswith("proj"):  # remove the start's excess of the source's clean latent, per frame
        x = pipe.backbone.encode_video(frames, sample=False, generator=None).movedim(F, 1)
        zf = z.movedim(F, 1)
        c = (zf * x).flatten(2).sum(2) / (x * x).flatten(2).sum(2)
        beta = float(variant[4:] or 1)
        s = pipe.backbone.process.grid(config.sampling.steps)[first].signal
        z = (zf - beta * (c - s)[:, :, None, None, None] * x).movedim(1, F)
    latents[first] = z
    return latents


pipe._inverted_latents = mixed
for edit in EDITS:
    res = {}
    for seed in HELDOUT_SEEDS[:clips]:
        for a in mixes:
            state.update(a=a, seed=seed)
            scored = scores(*edit_synthetic_clip(pipe, config, seed, edit, 0), edit, seed)
            res.setdefault(a, []).append(probe_row(scored))
    for a in mixes:
        print(f"{edit:10s} {a:8s} {mean_line(res[a])}", flush=True)
