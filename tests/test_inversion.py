from __future__ import annotations

import dataclasses
import shutil

import pytest
import torch
from diffusers import DDIMInverseScheduler

from anyv2v.errors import AnyV2VError
from anyv2v.inversion import INVERTERS, InversionCache
from anyv2v.toy.model import I2VGENXL_SCHEDULER
from tests.helpers import NO_INJECTION, load_tiny_pipeline, tiny_config


def reconstruction_error(pipe, frames, steps: int, init: str = "inverted") -> float:
    """Invert, then sample back with the same conditions and no edit; relative error to the clean latents."""
    config = tiny_config(
        steps=steps, inversion_steps=steps, injection=NO_INJECTION, guidance_scale=1.0, start_step=0, init=init
    )
    clean = pipe.backbone.encode_video(frames, sample=False, generator=None)
    generator = torch.Generator().manual_seed(0)
    latents = pipe.edit(frames, frames[0], "", config=config, generator=generator, output_type="latent")
    return ((latents - clean).norm() / clean.norm()).item()


def test_inversion_then_sampling_reconstructs_the_source_better_with_more_steps(tiny_model, source_frames):
    pipe = load_tiny_pipeline(tiny_model)
    errors = [reconstruction_error(pipe, source_frames, steps) for steps in (5, 20, 100)]
    from_noise = reconstruction_error(pipe, source_frames, 20, init="noise")
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.5 * errors[0]
    assert errors[2] < 0.5 * from_noise


def test_inversion_stops_at_the_highest_timestep_sampling_needs(tiny_model, source_frames):
    pipe = load_tiny_pipeline(tiny_model)
    inverted = pipe.invert(source_frames, config=tiny_config(steps=10, inversion_steps=100))
    assert sorted(inverted) == [1, 101, 201, 301, 401, 501, 601, 701, 801]  # sampling starts at step 1
    assert pipe.stats.unet_calls == 81  # inversion timesteps 1, 11, ..., 801


def test_mismatched_inversion_and_sampling_steps_are_refused(tiny_model, source_frames, edited_frame):
    pipe = load_tiny_pipeline(tiny_model)
    with pytest.raises(AnyV2VError, match="multiple of 25"):
        pipe.edit(source_frames, edited_frame, "x", config=tiny_config(steps=25, inversion_steps=20))


def test_cache_is_hit_on_the_second_run_with_identical_output(tiny_model, tmp_path, source_frames, edited_frame):
    pipe = load_tiny_pipeline(tiny_model, cache_dir=tmp_path)
    config = tiny_config(steps=10, inversion_steps=20)
    first = pipe.edit(source_frames, edited_frame, "a green square", config=config, output_type="np")
    first_calls = pipe.stats.unet_calls
    assert not pipe.stats.inversion_cache_hit
    assert len(list(tmp_path.glob("*.safetensors"))) == 1

    second = pipe.edit(source_frames, edited_frame, "a green square", config=config, output_type="np")
    assert pipe.stats.inversion_cache_hit
    assert pipe.stats.unet_calls == first_calls - 17  # the 17 inversion calls (timesteps 1..801) are gone
    assert (first == second).all()

    other_video = [frame.rotate(90) for frame in source_frames]
    pipe.edit(other_video, edited_frame, "a green square", config=config, output_type="latent")
    assert not pipe.stats.inversion_cache_hit
    assert len(list(tmp_path.glob("*.safetensors"))) == 2


def test_cache_files_are_written_atomically(tmp_path):
    cache = InversionCache(tmp_path)
    cache.save("key", {1: torch.ones(2), 51: torch.zeros(2)}, {"model": "m"})
    assert [p.name for p in tmp_path.iterdir()] == ["key.safetensors"]
    assert cache.load("key", [1, 51], torch.device("cpu"))[51].sum() == 0
    assert cache.load("key", [1, 101], torch.device("cpu")) is None


def test_weights_saved_over_the_same_folder_do_not_hit_the_old_inversion(tiny_model, tmp_path, source_frames):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    config = tiny_config(steps=5, inversion_steps=10)
    load_tiny_pipeline(model, cache_dir=tmp_path / "cache").invert(source_frames, config=config)
    again = load_tiny_pipeline(model, cache_dir=tmp_path / "cache")
    again.invert(source_frames, config=config)
    assert again.stats.inversion_cache_hit

    weights = model / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes())  # "retrained": same name, new file
    retrained = load_tiny_pipeline(model, cache_dir=tmp_path / "cache")
    retrained.invert(source_frames, config=config)
    assert not retrained.stats.inversion_cache_hit


class GaussianData:
    """The exact v-prediction of data drawn from N(0, std²): the sampling ODE then has a closed-form solution,
    x at level ᾱ = x_clean · √(ᾱ std² + 1 - ᾱ) / std, so an inversion's error can be measured exactly."""

    def __init__(self, scheduler, std: float = 0.3):
        self.alphas, self.std = scheduler.alphas_cumprod.double(), std

    def __call__(self, latents: torch.Tensor, timestep: torch.Tensor, condition) -> torch.Tensor:
        alpha = self.alphas[int(timestep)]
        eps = (1 - alpha).sqrt() * latents.double() / (alpha * self.std**2 + 1 - alpha)
        clean = (latents.double() - (1 - alpha).sqrt() * eps) / alpha.sqrt()
        return (alpha.sqrt() * eps - (1 - alpha).sqrt() * clean).to(latents.dtype)

    def exact(self, clean: torch.Tensor, timestep: int) -> torch.Tensor:
        alpha = self.alphas[timestep]
        return clean * (alpha * self.std**2 + 1 - alpha).sqrt() / self.std


def inversion_error(solver: str, steps: int, keep: int = 921) -> float:
    scheduler = DDIMInverseScheduler.from_config(I2VGENXL_SCHEDULER)
    scheduler.set_timesteps(steps)
    model = GaussianData(scheduler)
    clean = torch.randn(1, 4, 2, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * model.std
    inverted = INVERTERS[solver](model, scheduler, clean, None, 1.0, [keep], progress=lambda items, _: items)[keep]
    exact = model.exact(clean, keep)
    return ((inverted - exact).norm() / exact.norm()).item()


def test_second_order_inversion_is_far_closer_to_the_exact_path_than_ddim_at_equal_steps():
    ddim = {steps: inversion_error("ddim", steps) for steps in (25, 50, 500)}
    second = {steps: inversion_error("second-order", steps) for steps in (25, 50)}
    assert ddim[25] > ddim[50] > ddim[500]  # DDIM converges, slowly
    assert second[50] < ddim[500]  # 50 second-order steps beat the reference's 500 DDIM steps
    assert second[25] / second[50] > 3  # halving the step cuts its error over 3x; DDIM's only halves
    assert ddim[25] / ddim[50] < 2.5


def test_the_pipeline_inverts_with_the_configured_solver_and_caches_each_apart(tiny_model, tmp_path, source_frames):
    pipe = load_tiny_pipeline(tiny_model, cache_dir=tmp_path)
    ddim = tiny_config(steps=5, inversion_steps=10)
    second_order = dataclasses.replace(ddim, inversion=dataclasses.replace(ddim.inversion, solver="second-order"))
    by_ddim = pipe.invert(source_frames, config=ddim)
    by_second_order = pipe.invert(source_frames, config=second_order)
    assert not pipe.stats.inversion_cache_hit and len(list(tmp_path.glob("*.safetensors"))) == 2
    assert by_ddim.keys() == by_second_order.keys()
    assert all(not torch.equal(by_ddim[t], by_second_order[t]) for t in by_ddim)


def test_second_order_inversion_refuses_a_model_predicting_clean_samples():
    scheduler = DDIMInverseScheduler.from_config({**I2VGENXL_SCHEDULER, "prediction_type": "sample"})
    scheduler.set_timesteps(10)
    with pytest.raises(AnyV2VError, match="epsilon or v-prediction"):
        INVERTERS["second-order"](lambda x, t, c: x, scheduler, torch.zeros(1, 4, 1, 2, 2), None, 1.0, [101],
                                  progress=lambda items, _: items)  # fmt: skip
