"""AnyV2V's output renoised with fresh noise to grid position K and sampled down again under the edited frame,
with no source branch (SDEdit on the output): whether a second pass from a middle level, where the layout and
motion are already in the signal, lets the model redraw what the source's start took back.
refine.py BACKBONE MODEL CLIPS K[,K...]   (K = 0: AnyV2V's output unchanged)"""

import sys

import torch
from toy_probe import mean_line, probe_row, toy_pipeline

import anyv2v.pipeline
from anyv2v.evaluation.bench import _no_injection, _sampling, decoded_frames, scores
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

name, model, clips, positions = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(k) for k in sys.argv[4].split(",")]
pipe, config = toy_pipeline(name, model, threads=2)
world, video = World.of_model(pipe.model_id), config.video
sample = anyv2v.pipeline.sample
state = {}


def renoised_sample(denoiser, latents, grid, *args, start, **kwargs):
    if "clean" in state:
        k = state["k"]
        noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(state["seed"]))
        latents = pipe.backbone.process.noised(state["clean"], noise.to(latents.dtype), grid[k])
        start = k
    return sample(denoiser, latents, grid, *args, start=start, **kwargs)


anyv2v.pipeline.sample = renoised_sample
second = _sampling(_no_injection(config), init="noise")  # the pass starts from the renoised output
for edit in EDITS:
    res = {}
    for seed in HELDOUT_SEEDS[:clips]:
        source, truth = clip_pair(seed, edit, size=video.height, num_frames=video.num_frames, world=world)
        frames, edited = to_images(source), to_images(truth)[0]
        state.clear()
        clean = pipe.edit(frames, edited, "", config=config, generator=torch.Generator().manual_seed(0),
                          output_type="latent")  # fmt: skip
        for k in positions:
            if k == 0:
                latents = clean
            else:
                state.update(clean=clean, k=k, seed=seed)
                latents = pipe.edit(frames, edited, "", config=second, generator=torch.Generator().manual_seed(0),
                                    output_type="latent")  # fmt: skip
                state.clear()
            output = decoded_frames(pipe, latents, config)
            scored = scores(output, source, truth, edit, seed)
            res.setdefault(k, []).append(probe_row(scored))
    for k in positions:
        print(f"{edit:10s} K {k:<3d} {mean_line(res[k])}", flush=True)
