"""Two samplers that keep the source's inverted path and add the edit to it as signal, against AnyV2V's DDIM, which
hands whatever the edit branch's clean estimate leaves unexplained in its latent down as noise. A source branch
runs on the source's inverted latent of every level, conditioned as in the inversion and guided as the edit branch is
(so that the two clean estimates differ by the edit, not by the guidance; one more batch a step).
- "noise": the next latent is signal · (the edit branch's clean estimate) + noise · (the noise the source branch
  reads in its own latent).
- "delta": the next latent is the source's inverted latent of the next level plus signal · (the edit branch's clean
  estimate - the source branch's): after FlowEdit's idea, on the inverted path instead of fresh noise. The last step,
  onto the clean level, is DDIM's.
- "ddim": AnyV2V's sampler.
Frame 0 is AnyV2V's in all three (on Wan 2.2 it is the given frame).
source_noise.py BACKBONE MODEL CLIPS VARIANT[,VARIANT...]"""

import sys

import torch
from toy_probe import compare, toy_pipeline

import anyv2v.pipeline
import anyv2v.sampling
from anyv2v.backbones.base import is_guided
from anyv2v.noise import NoiseLevel, Prediction, step

name, model, clips, variants = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
pipe, config = toy_pipeline(name, model, threads=2)
frame_axis = pipe.backbone.latent_layout.index("F")
edit_guided = is_guided(config.sampling.guidance_scale)
state = {"variant": "ddim"}
source_conditions, sample = pipe._source_conditions, anyv2v.pipeline.sample


def with_guided_source(frames, config, generator, *, guided: bool):
    """Keeps a guided source condition (negative branch first) for this probe's source branch if the edit is guided."""
    if edit_guided:
        state["guided source"] = source_conditions(frames, config, generator, guided=True)
    return source_conditions(frames, config, generator, guided=guided)


def later_frames(tensor: torch.Tensor) -> torch.Tensor:
    """A view of frames 1.., so that writing to it leaves frame 0 as it was."""
    return tensor.narrow(frame_axis, 1, tensor.shape[frame_axis] - 1)


def sample_on_source_path(denoiser, latents, grid, condition, guidance_scale, **kwargs):
    """AnyV2V's sampler, its steps (below) given what they need to take the variant's."""
    state.update(denoiser=denoiser, grid=list(grid), source=kwargs["source"], guidance=guidance_scale)
    return sample(denoiser, latents, grid, condition, guidance_scale, **kwargs)


def step_on_source_path(edit: Prediction, level: NoiseLevel, target: NoiseLevel, **kwargs) -> torch.Tensor:
    latents = step(edit, level, target, **kwargs)
    i, source = state["grid"].index(level), state["source"]
    if state["variant"] == "ddim" or (state["variant"] == "delta" and i + 1 not in source.latents):
        return latents
    branches = state["guided source"] if edit_guided else source.condition
    own = state["denoiser"](source.latents[i], level, branches, state["guidance"])
    if state["variant"] == "noise":
        later = target.signal * edit.denoised + target.noise * own.epsilon
    else:
        later = source.latents[i + 1] + target.signal * (edit.denoised - own.denoised)
    later_frames(latents).copy_(later_frames(later))
    return latents


pipe._source_conditions = with_guided_source
anyv2v.pipeline.sample, anyv2v.sampling.step = sample_on_source_path, step_on_source_path
compare(pipe, config, clips, variants, lambda variant: state.update(variant=variant), lambda v: f"{v:6s}")
