"""AnyV2V's sampling loop: DDIM from the inverted source, a source branch feeding injected features."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from anyv2v.backbones.base import Condition, Progress
from anyv2v.injection import FeatureInjector

Predict = Callable[[torch.Tensor, torch.Tensor, Condition], torch.Tensor]


@dataclass
class SourceBranch:
    """The source video's inverted latents by timestep, and the conditions they were inverted with."""

    latents: dict[int, torch.Tensor]
    condition: Condition


def sample(
    predict: Predict,
    scheduler,
    latents: torch.Tensor,
    timesteps: Sequence[torch.Tensor],
    condition: Condition,
    guidance_scale: float,
    *,
    source: SourceBranch | None = None,
    injector: FeatureInjector | None = None,
    generator: torch.Generator | None = None,
    eta: float = 0.0,
    progress: Progress,
) -> torch.Tensor:
    """Denoise `latents` over `timesteps`; `condition` holds [negative, edit] branches, or [edit] unguided.

    On injection steps the batch becomes [source, (negative,) edit], the source branch running on its own
    inverted latent of the same timestep; its prediction is discarded, only its features are used.
    """
    with_source = type(condition).cat([source.condition, condition]) if source is not None else None
    for t in progress(timesteps, "sampling"):
        branches, cond = [latents] * branch_count(guidance_scale), condition
        injecting = injector is not None and injector.injects_at(int(t))
        if injecting:
            branches, cond = [source.latents[int(t)], *branches], with_source
        with injector.at(int(t), groups=len(branches)) if injecting else nullcontext():
            output = predict(scheduler.scale_model_input(torch.cat(branches), t), t, cond)
        if injecting:
            output = output[output.shape[0] // len(branches) :]
        latents = step_frames(scheduler, guide(output, guidance_scale), t, latents, eta=eta, generator=generator)
    return latents


def branch_count(guidance_scale: float) -> int:
    """Classifier-free guidance needs a negative branch beside the conditional one."""
    return 2 if guidance_scale > 1 else 1


def guide(output: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    if guidance_scale <= 1:
        return output
    negative, positive = output.chunk(2)
    return negative + guidance_scale * (positive - negative)


def step_frames(
    scheduler, model_output: torch.Tensor, t: torch.Tensor, latents: torch.Tensor, **kwargs
) -> torch.Tensor:
    """Scheduler step with frames folded into the batch, as diffusers' video pipelines do.

    The result is made contiguous so that latents fresh from inversion and latents read back from the cache
    take the same kernels, and give bit-identical edits.
    """
    batch, channels, frames, height, width = latents.shape

    def fold(x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)

    stepped = scheduler.step(fold(model_output), t, fold(latents), **kwargs).prev_sample
    return stepped.reshape(batch, frames, channels, height, width).permute(0, 2, 1, 3, 4).contiguous()
