"""AnyV2V's sampler: from the inverted source down the backbone's noise grid, a source branch feeding features."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from anyv2v.backbones.base import Condition, Progress, is_guided
from anyv2v.injection import FeatureInjector
from anyv2v.noise import NoiseLevel, NoiseProcess, Prediction, step

Predict = Callable[[torch.Tensor, torch.Tensor, Condition], torch.Tensor]
Guide = Callable[[torch.Tensor, float], torch.Tensor]
OnStep = Callable[[int, Prediction], None]  # sampling-grid position, and the guided prediction made there


@dataclass
class Denoiser:
    """A backbone's model as the algorithms see it: latents at a noise level in, a guided `Prediction` out."""

    predict: Predict  # raw output for a batch of branches
    process: NoiseProcess
    guide: Guide  # negative and conditional halves of a raw output -> one guided output

    def __call__(
        self,
        latents: torch.Tensor,
        level: NoiseLevel,
        condition: Condition,
        guidance_scale: float,
        *,
        told: NoiseLevel | None = None,
        lead: torch.Tensor | None = None,
    ) -> Prediction:
        """`told` is the level the model is told, when it differs (the official inversion's quirk); `lead`
        is a branch run first whose output is discarded (the source branch, there only for its features)."""
        branches = [latents] * branch_count(guidance_scale)
        if lead is not None:
            branches.insert(0, lead)
        timestep = torch.tensor((told or level).timestep, device=latents.device)
        output = self.predict(self.process.model_input(torch.cat(branches), level), timestep, condition)
        if lead is not None:
            output = output[lead.shape[0] :]
        return self.process.split(self.guide(output, guidance_scale), latents, level)


@dataclass
class SourceBranch:
    """The source video's inverted latents by position on the sampling grid, and their conditions."""

    latents: dict[int, torch.Tensor]
    condition: Condition


def sample(
    model: Denoiser,
    latents: torch.Tensor,
    grid: Sequence[NoiseLevel],
    condition: Condition,
    guidance_scale: float,
    *,
    start: int = 0,
    source: SourceBranch | None = None,
    injector: FeatureInjector | None = None,
    generator: torch.Generator | None = None,
    eta: float = 0.0,
    progress: Progress,
    on_step: OnStep | None = None,
    given_first: GivenFrame | None = None,
) -> torch.Tensor:
    """Walk `latents` from grid[start] down to grid[-1]; `condition` holds [negative, edit] branches, or [edit].

    On injection steps the source branch runs first in the batch, on its own inverted latent of the same
    level; its output is discarded, only its features are used. With `given_first`, frame 0's clean estimate
    is the given latent at every step.
    """
    with_source = type(condition).cat([source.condition, condition]) if source is not None else None
    for i in progress(range(start, len(grid) - 1), "sampling"):
        injecting = injector is not None and injector.injects_at(i)
        if injecting:
            with injector.at(i, groups=1 + branch_count(guidance_scale)):
                prediction = model(latents, grid[i], with_source, guidance_scale, lead=source.latents[i])
        else:
            prediction = model(latents, grid[i], condition, guidance_scale)
        if given_first is not None:
            prediction = given_first.imposed(prediction, latents, grid[i])
        if on_step is not None:
            on_step(i, prediction)
        latents = step(prediction, grid[i], grid[i + 1], eta=eta, generator=generator)
    return latents


@dataclass
class GivenFrame:
    """A frame whose clean latent is known (the edited first frame), imposed on every step's prediction.

    The noise that frame's latent holds is kept (read back from the current latent), so it is carried down the
    grid as the sampler carries the other frames' noise, and the frame reaches the given latent at the end."""

    latent: torch.Tensor  # the frame's latent, with a frame axis of size 1
    frame_axis: int

    def imposed(self, prediction: Prediction, latents: torch.Tensor, level: NoiseLevel) -> Prediction:
        current = latents.narrow(self.frame_axis, 0, 1)
        given = self.latent.to(current.dtype).expand_as(current)
        noise = (current - level.signal * given) / level.noise
        rest = self.frame_axis, 1, latents.shape[self.frame_axis] - 1
        return Prediction(
            denoised=torch.cat([given, prediction.denoised.narrow(*rest)], dim=self.frame_axis),
            epsilon=torch.cat([noise, prediction.epsilon.narrow(*rest)], dim=self.frame_axis),
        )


def branch_count(guidance_scale: float) -> int:
    """Classifier-free guidance needs a negative branch beside the conditional one."""
    return 2 if is_guided(guidance_scale) else 1
