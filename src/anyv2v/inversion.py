"""Inversion of the source video: from its clean latents up the backbone's noise grid.

The inverters walk a grid from `NoiseProcess.grid(steps)` backwards (clean end first) and return the
latents at the grid positions asked for; none knows which model family it runs on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence

import torch

from anyv2v.backbones.base import Condition, Progress
from anyv2v.config import InversionConfig
from anyv2v.noise import NoiseLevel, step
from anyv2v.sampling import Denoiser

Inverter = Callable[..., dict[int, torch.Tensor]]  # (model, latents, grid, condition, guidance, keep, *, progress)


def first_order_invert(
    model: Denoiser,
    latents: torch.Tensor,
    grid: Sequence[NoiseLevel],
    condition: Condition,
    guidance_scale: float,
    keep: Collection[int],
    *,
    progress: Progress,
    iterations: int = 0,
) -> dict[int, torch.Tensor]:
    """First-order (DDIM) inversion, keeping grid positions `keep`: with no `iterations`, exactly as the official
    code runs it.

    Each step reads the model's prediction at the current latent and moves it one level up; as in diffusers'
    DDIMInverseScheduler, which the official code uses, the model is told the level it moves *to*. The sampler
    reads the model where the latent landed instead, so where the prediction moves with its input, its step back
    misses the latent the step came from. Each iteration (one more model call) moves the landed latent by what
    that round trip misses: a fixed-point iteration, as AIDI and ReNoise use for images, that converges while a
    step is short, and at convergence the sampler's step back is exact, whatever the model.
    """
    kept: dict[int, torch.Tensor] = {}
    for i in progress(range(len(grid) - 1, min(keep), -1), "inversion"):
        level, target = grid[i], grid[i - 1]
        start = latents
        latents = step(model(latents, level, condition, guidance_scale, told=target), level, target)
        for _ in range(iterations):
            back = step(model(latents, target, condition, guidance_scale), target, level)
            latents = (latents.float() + (start.float() - back.float())).to(start.dtype)
        if i - 1 in keep:
            kept[i - 1] = latents.contiguous()  # as the cache gives them back, so both take the same kernels
    return kept


def second_order_invert(
    model: Denoiser,
    latents: torch.Tensor,
    grid: Sequence[NoiseLevel],
    condition: Condition,
    guidance_scale: float,
    keep: Collection[int],
    *,
    progress: Progress,
) -> dict[int, torch.Tensor]:
    """Inversion made second order at no extra model call, so that 50 steps come close to the official 500.

    With y = x / signal and σ = noise / signal, deterministic sampling follows dy/dσ = ε, and a first-order
    step is one Euler step in σ. Two changes: the model is told the level the latent is at, and each step's
    slope is extrapolated from this step's and the previous step's ε (two-step Adams-Bashforth).
    """
    kept: dict[int, torch.Tensor] = {}
    state = latents.float()  # the ODE state, kept in float32 whatever the model's precision
    previous: tuple[float, torch.Tensor] | None = None  # (σ, ε) where the last step started
    for i in progress(range(len(grid) - 1, min(keep), -1), "inversion"):
        level, target = grid[i], grid[i - 1]
        eps = model(latents, level, condition, guidance_scale).epsilon.float()
        slope = _extrapolated_slope(eps, level, target, previous)
        # = signal' · (y + (σ' - σ) · slope), written so that it stays finite where the target is pure noise
        state = target.signal / level.signal * state + (target.noise - target.signal * level.sigma) * slope
        previous = (level.sigma, eps)
        latents = state.to(latents.dtype).contiguous()
        if i - 1 in keep:
            kept[i - 1] = latents
    return kept


def _extrapolated_slope(
    eps: torch.Tensor, level: NoiseLevel, target: NoiseLevel, previous: tuple[float, torch.Tensor] | None
) -> torch.Tensor:
    """ε extrapolated linearly in σ to the middle of the step; plain ε on the first step and into pure noise."""
    if previous is None or target.signal == 0:
        return eps
    return eps + (target.sigma - level.sigma) / (2 * (level.sigma - previous[0])) * (eps - previous[1])


INVERTERS = {"ddim": first_order_invert, "second-order": second_order_invert}


def inverter(config: InversionConfig) -> Inverter:
    """The inversion algorithm a config names; "fixed-point" is the first-order one with its iterations."""
    if config.solver == "fixed-point":
        return functools.partial(first_order_invert, iterations=config.iterations)
    return INVERTERS[config.solver]


def grid_positions(needed: Sequence[NoiseLevel], grid: Sequence[NoiseLevel]) -> list[int | None]:
    """Where each needed level sits on `grid` (None where it does not), matched by noise level."""
    position = {(level.signal, level.noise): i for i, level in enumerate(grid)}
    return [position.get((level.signal, level.noise)) for level in needed]


def closest_covering_steps(
    needed: Sequence[NoiseLevel], grid_for: Callable[[int], list[NoiseLevel]], near: int, limit: int = 1000
) -> int | None:
    """The step count nearest `near` whose grid holds every needed level, for an error message to suggest."""
    for steps in sorted(range(1, limit + 1), key=lambda steps: (abs(steps - near), steps)):
        if None not in grid_positions(needed, grid_for(steps)):
            return steps
    return None
