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

    @staticmethod
    def noised(clean: torch.Tensor, noise: torch.Tensor, level: NoiseLevel) -> torch.Tensor:
        """`clean` taken to `level` along `noise`: the latents a model is trained to denoise there."""
        return level.signal * clean + level.noise * noise

    @abstractmethod
    def target(self, clean: torch.Tensor, noise: torch.Tensor, level: NoiseLevel) -> torch.Tensor:
        """The raw output a perfect model returns for `noised(clean, noise, level)`, which `split` reads back
        as `clean` and `noise`: what training regresses the model onto."""

    @abstractmethod
    def training_level(self, position: float) -> NoiseLevel:
        """The level at `position` in [0, 1), from the cleanest the model is trained at towards the noisiest;
        a uniform position spreads training over the whole range its sampler walks."""


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

    def target(self, clean: torch.Tensor, noise: torch.Tensor, level: NoiseLevel) -> torch.Tensor:
        return level.signal * noise - level.noise * clean if self.prediction_type == "v_prediction" else noise

    def training_level(self, position: float) -> NoiseLevel:
        """An integer training timestep, uniform in position as DDPM training draws them."""
        timestep = min(int(position * len(self.alphas)), len(self.alphas) - 1)
        return self._level(timestep, self.alphas[timestep])


class EDMProcess(NoiseProcess):
    """Karras et al.'s (EDM) parameterization on diffusers' EulerDiscreteScheduler grid, as Stable Video
    Diffusion uses it: x = x0 + σ ε (signal 1), the model sees x / √(σ² + 1) and is told 0.25 ln σ, and returns
    an EDM-scaled v.

    The clean end (σ = 0) is told the grid's smallest nonzero level, the lowest one the model was trained on;
    `split` stays finite there (ε = v at σ = 0).
    """

    def __init__(self, scheduler_config: dict):
        from diffusers import EulerDiscreteScheduler

        self.scheduler = EulerDiscreteScheduler.from_config(scheduler_config)
        config = self.scheduler.config
        if config.prediction_type != "v_prediction" or config.timestep_type != "continuous":
            raise AnyV2VError(
                f"an EDM model needs prediction_type 'v_prediction' and timestep_type 'continuous', not "
                f"{config.prediction_type!r} and {config.timestep_type!r}: check the model's scheduler config"
            )
        self.unit_start = config.timestep_spacing not in ("linspace", "trailing")  # diffusers' init_noise_sigma

    def grid(self, steps: int) -> list[NoiseLevel]:
        self.scheduler.set_timesteps(steps)
        sigmas = self.scheduler.sigmas.tolist()
        timesteps = [*self.scheduler.timesteps.tolist(), self.scheduler.timesteps[-1].item()]
        return [NoiseLevel(timestep, 1.0, sigma) for timestep, sigma in zip(timesteps, sigmas, strict=True)]

    # Coefficients are computed in the latents' precision, as diffusers' Euler scheduler computes them: at
    # σ = 700 a coefficient rounded once from float64 instead leaves 1e-4 between the two samplers' latents.

    def model_input(self, latents: torch.Tensor, level: NoiseLevel) -> torch.Tensor:
        sigma = latents.new_tensor(level.noise)
        return latents / (sigma**2 + 1) ** 0.5

    def split(self, output: torch.Tensor, latents: torch.Tensor, level: NoiseLevel) -> Prediction:
        sigma = latents.new_tensor(level.noise)
        denoised = output * (-sigma / (sigma**2 + 1) ** 0.5) + latents / (sigma**2 + 1)
        epsilon = (latents - denoised) / sigma if level.noise > 0 else output
        return Prediction(denoised=denoised, epsilon=epsilon)

    def initial_scale(self, level: NoiseLevel) -> float:
        import torch

        sigma = torch.tensor(level.noise, dtype=torch.float32)  # in float32, as diffusers' init_noise_sigma
        return float((sigma**2 + 1) ** 0.5) if self.unit_start else level.noise

    def target(self, clean: torch.Tensor, noise: torch.Tensor, level: NoiseLevel) -> torch.Tensor:
        sigma = level.noise  # `split` solved for the output: (ε - σ x0) / √(σ² + 1)
        return (noise - sigma * clean) / math.sqrt(sigma**2 + 1)

    def training_level(self, position: float) -> NoiseLevel:
        """σ log-uniform between the scheduler's smallest and largest, told as 0.25 ln σ."""
        low, high = self._sigma_range()
        sigma = math.exp(math.log(low) + position * (math.log(high) - math.log(low)))
        return NoiseLevel(0.25 * math.log(sigma), 1.0, sigma)

    def _sigma_range(self) -> tuple[float, float]:
        """The config's sigma_min and sigma_max (Stable Video Diffusion's: 0.002 and 700), else those of the
        training betas, as the scheduler itself falls back."""
        alphas = self.scheduler.alphas_cumprod
        trained = ((1 - alphas) / alphas) ** 0.5
        config = self.scheduler.config
        low = config.sigma_min if config.get("sigma_min") is not None else float(trained.min())
        high = config.sigma_max if config.get("sigma_max") is not None else float(trained.max())
        return low, high


class FlowMatchingProcess(NoiseProcess):
    """Rectified flow, x = (1 - s) x0 + s ε, with a velocity model v = ε - x0 (Wan, LTX), on the shifted sigma
    grid of the model's own scheduler, built from its config: diffusers' FlowMatchEulerDiscreteScheduler
    (`shift`), or UniPCMultistepScheduler with flow sigmas (`flow_shift`, Wan's). The model is told the
    scheduler's timesteps: 1000 · s, which UniPC truncates to integers as Wan's pipeline passes them."""

    def __init__(self, scheduler_config: dict):
        from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

        if scheduler_config.get("_class_name") == "UniPCMultistepScheduler":
            _check_unipc_flow(scheduler_config)
            self.scheduler = UniPCMultistepScheduler.from_config(scheduler_config)
        else:
            self.scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler_config)

    def grid(self, steps: int) -> list[NoiseLevel]:
        self.scheduler.set_timesteps(steps)
        timesteps = [*self.scheduler.timesteps.tolist(), 0.0]
        sigmas = self.scheduler.sigmas.tolist()
        return [NoiseLevel(float(t), 1 - s, s) for t, s in zip(timesteps, sigmas, strict=True)]

    def split(self, output: torch.Tensor, latents: torch.Tensor, level: NoiseLevel) -> Prediction:
        return Prediction(denoised=latents - level.noise * output, epsilon=latents + level.signal * output)

    def target(self, clean: torch.Tensor, noise: torch.Tensor, level: NoiseLevel) -> torch.Tensor:
        return noise - clean

    def training_level(self, position: float) -> NoiseLevel:
        """s = position moved by the scheduler's shift, as its own sigma grid is: shift · s / (1 + (shift - 1) s)."""
        config = self.scheduler.config
        shift = config.get("flow_shift") or config.get("shift") or 1.0
        s = shift * position / (1 + (shift - 1) * position)
        return NoiseLevel(1000 * s, 1 - s, s)


def _check_unipc_flow(config: dict) -> None:
    """A UniPC config describes a flow-matching grid only with flow sigmas, flow predictions and a clean end."""
    settings = {
        "use_flow_sigmas": config.get("use_flow_sigmas", False),
        "prediction_type": config.get("prediction_type", "epsilon"),
        "final_sigmas_type": config.get("final_sigmas_type", "zero"),
    }
    if settings != {"use_flow_sigmas": True, "prediction_type": "flow_prediction", "final_sigmas_type": "zero"}:
        found = ", ".join(f"{key} {value!r}" for key, value in settings.items())
        raise AnyV2VError(
            f"a UniPC scheduler config needs use_flow_sigmas True, prediction_type 'flow_prediction' and "
            f"final_sigmas_type 'zero' for a flow-matching model, not {found}: check the model's scheduler config"
        )
