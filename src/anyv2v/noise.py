"""Noise processes: where a backbone's latents sit between clean and pure noise, and what its output means.

Every diffusion or flow model noises a clean latent x0 as x = signal · x0 + noise · ε; they differ in the
grid of levels they sample on, in what the model is told (an integer timestep, a float sigma, 1000 · s) and
in what it returns (ε, v, an EDM-scaled v, a flow velocity). A `NoiseProcess` hides those differences behind
two things the generic inverters and sampler use: a grid of `NoiseLevel`s, and `split`, which turns a raw
output into the common form (the clean estimate and the noise it implies). As in k-diffusion, a
deterministic step between two levels is then one line (`step`), the same for every model.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from anyv2v.errors import AnyV2VError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class NoiseLevel:
    """One point between clean (noise 0) and pure noise (signal 0): x = signal · x0 + noise · ε."""

    timestep: float  # what the model is told at this level
    signal: float
    noise: float

    @property
    def sigma(self) -> float:
        """Noise-to-signal ratio, the variable in which a DDIM step is an Euler step."""
        return self.noise / self.signal if self.signal > 0 else math.inf


@dataclass(frozen=True)
class Prediction:
    """A model output in the common form: the clean latent it implies, and the noise."""

    denoised: torch.Tensor
    epsilon: torch.Tensor


class NoiseProcess(ABC):
    @abstractmethod
    def grid(self, steps: int) -> list[NoiseLevel]:
        """`steps + 1` levels, noisiest first; sampling walks them down, inversion up from the last one."""

    @abstractmethod
    def split(self, output: torch.Tensor, latents: torch.Tensor, level: NoiseLevel) -> Prediction:
        """The clean estimate and noise that a raw model output implies for `latents` at `level`."""

    def model_input(self, latents: torch.Tensor, level: NoiseLevel) -> torch.Tensor:
        """Latents as the model takes them (EDM models see them scaled to unit variance)."""
        return latents

    def initial_scale(self, level: NoiseLevel) -> float:
        """Standard deviation of the noise a sampler starts from at `level` when not starting from a video."""
        return 1.0


def step(
    prediction: Prediction,
    level: NoiseLevel,
    target: NoiseLevel,
    *,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Move latents from `level` to `target` along the prediction: DDIM (eta 0) or its ancestral form.

    With eta > 0, part of the target's noise is fresh (k-diffusion's ancestral split, which is DDIM's eta
    written in σ = noise / signal); the rest follows the predicted noise.
    """
    from diffusers.utils.torch_utils import randn_tensor

    denoised, epsilon = prediction.denoised, prediction.epsilon
    if eta == 0 or target.noise == 0 or target.signal == 0:
        return target.signal * denoised + target.noise * epsilon
    sigma, next_sigma = level.sigma, target.sigma
    fresh = min(next_sigma, eta * next_sigma * math.sqrt(max(sigma**2 - next_sigma**2, 0.0)) / sigma)
    kept = math.sqrt(next_sigma**2 - fresh**2)
    noise = randn_tensor(denoised.shape, generator=generator, device=denoised.device, dtype=denoised.dtype)
    return target.signal * (denoised + kept * epsilon + fresh * noise)


class DiffusionProcess(NoiseProcess):
    """A discrete-time (DDPM) model on diffusers' DDIM timestep grid, predicting ε or v.

    The grid's last level is where DDIM ends (ᾱ = 1 with `set_alpha_to_one`, else ᾱ of timestep 0), told to
    the model as timestep 0 when an inverter evaluates it there.
    """

    def __init__(self, scheduler_config: dict):
        from diffusers import DDIMScheduler

        self.scheduler = DDIMScheduler.from_config(scheduler_config)
        self.prediction_type = self.scheduler.config.prediction_type
        if self.prediction_type not in ("epsilon", "v_prediction"):
            raise AnyV2VError(
                f"scheduler prediction_type {self.prediction_type!r} is not supported (inversion needs the noise, "
                "which a clean-sample prediction does not give at the clean end): use an epsilon or v model"
            )
        self.alphas = self.scheduler.alphas_cumprod.tolist()
        self.final_alpha = float(self.scheduler.final_alpha_cumprod)

    def grid(self, steps: int) -> list[NoiseLevel]:
        self.scheduler.set_timesteps(steps)
        levels = [self._level(int(t), self.alphas[int(t)]) for t in self.scheduler.timesteps]
        return [*levels, self._level(0, self.final_alpha)]

    @staticmethod
    def _level(timestep: int, alpha: float) -> NoiseLevel:
        return NoiseLevel(float(timestep), math.sqrt(alpha), math.sqrt(1 - alpha))

    def split(self, output: torch.Tensor, latents: torch.Tensor, level: NoiseLevel) -> Prediction:
        a, b = level.signal, level.noise
        if self.prediction_type == "v_prediction":
            return Prediction(denoised=a * latents - b * output, epsilon=a * output + b * latents)
        return Prediction(denoised=(latents - b * output) / a, epsilon=output)


class FlowMatchingProcess(NoiseProcess):
    """Rectified flow, x = (1 - s) x0 + s ε, with a velocity model v = ε - x0, on a shifted sigma grid.

    The grid is diffusers' FlowMatchEulerDiscreteScheduler's: s from 1 to 1/T spaced linearly, then shifted
    towards noise (s' = shift · s / (1 + (shift - 1) s)), then 0; the model is told 1000 · s.
    """

    def __init__(self, shift: float = 1.0, num_train_timesteps: int = 1000):
        self.shift = shift
        self.num_train_timesteps = num_train_timesteps

    def grid(self, steps: int) -> list[NoiseLevel]:
        sigmas = np.linspace(1.0, 1.0 / self.num_train_timesteps, steps)
        sigmas = self.shift * sigmas / (1 + (self.shift - 1) * sigmas)
        return [NoiseLevel(float(s) * self.num_train_timesteps, 1 - float(s), float(s)) for s in sigmas] + [
            NoiseLevel(0.0, 1.0, 0.0)
        ]

    def split(self, output: torch.Tensor, latents: torch.Tensor, level: NoiseLevel) -> Prediction:
        return Prediction(denoised=latents - level.noise * output, epsilon=latents + level.signal * output)
