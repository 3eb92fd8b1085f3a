"""Two samplers that keep the source's inverted path and add the edit to it as signal, against AnyV2V's DDIM, which
hands whatever the edit branch's clean estimate leaves unexplained in its latent down as noise. A source branch
runs on the source's inverted latent of every level, conditioned as in the inversion and guided as the edit branch is
(so that the two clean estimates differ by the edit, not by the guidance; one more batch a step).
- "noise": the next latent is signal · (the edit branch's clean estimate) + noise · (the noise the source branch
  reads in its own latent).
- "delta": the next latent is the source's inverted latent of the next level plus signal · (the edit branch's clean
  estimate - the source branch's): FlowEdit's form, on the inverted path instead of fresh noise. The last step,
  onto the clean level, is DDIM's.
- "ddim": AnyV2V's sampler.
Frame 0 is AnyV2V's in all three (on Wan 2.2 it is the given frame).
source_noise.py BACKBONE MODEL CLIPS VARIANT[,VARIANT...]"""

import sys

import torch
from toy_probe import compare, toy_pipeline

import anyv2v.pipeline
from anyv2v.backbones.base import is_guided
from anyv2v.noise import Prediction, step
from anyv2v.sampling import branch_count

name, model, clips, variants = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
pipe, config = toy_pipeline(name, model, threads=2)
frame_axis = pipe.backbone.latent_layout.index("F")
state = {"variant": "ddim"}
source_conditions = pipe._source_conditions


def stash_guided_source(frames, config, generator, *, guided: bool):
    """The source branch's condition, keeping a guided one (negative branch first) for this probe's source branch."""
    state["guided source"] = source_conditions(frames, config, generator, guided=True)
    return source_conditions(frames, config, generator, guided=guided)


pipe._source_conditions = stash_guided_source


def later_frames(tensor: torch.Tensor) -> torch.Tensor:
    """A view of frames 1.., so that writing to it leaves frame 0 as it was."""
    return tensor.narrow(frame_axis, 1, tensor.shape[frame_axis] - 1)


def next_latents(edit: Prediction, source: Prediction, i: int, grid: list, inverted: dict) -> torch.Tensor:
    latents = step(edit, grid[i], grid[i + 1])
    if state["variant"] == "noise":
        later = grid[i + 1].signal * edit.denoised + grid[i + 1].noise * source.epsilon
    elif state["variant"] == "delta" and i + 1 in inverted:
        later = inverted[i + 1] + grid[i + 1].signal * (edit.denoised - source.denoised)
    else:
        return latents
    later_frames(latents).copy_(later_frames(later))
    return latents


def sample_on_source_path(model, latents, grid, condition, guidance_scale, *, start, source, injector, progress,
                          **_):  # fmt: skip
    for i in progress(range(start, len(grid) - 1), "sampling"):
        if injector is not None and injector.injects_at(i):
            with injector.at(i, groups=1 + branch_count(guidance_scale)):
                edit = model(latents, grid[i], type(condition).cat([source.condition, condition]), guidance_scale,
                             lead=source.latents[i])  # fmt: skip
        else:
            edit = model(latents, grid[i], condition, guidance_scale)
        source_prediction = None
        if state["variant"] != "ddim":
            guided = is_guided(guidance_scale)
            branches = state["guided source"] if guided else source.condition
            source_prediction = model(source.latents[i], grid[i], branches, guidance_scale)
        latents = next_latents(edit, source_prediction, i, grid, source.latents)
    return latents


anyv2v.pipeline.sample = sample_on_source_path
compare(pipe, config, clips, variants, lambda variant: state.update(variant=variant), lambda v: f"{v:6s}")
