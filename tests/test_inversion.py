from __future__ import annotations

import dataclasses
import math
import shutil

import pytest
import torch

from anyv2v.backbones.base import classifier_free_guidance
from anyv2v.backbones.svd import SCHEDULER_CONFIG
from anyv2v.cache import InversionCache
from anyv2v.errors import AnyV2VError
from anyv2v.inversion import INVERTERS, first_order_invert, grid_positions
from anyv2v.noise import DiffusionProcess, EDMProcess, FlowMatchingProcess
from anyv2v.sampling import Denoiser, sample
from anyv2v.toy.model import I2VGENXL_SCHEDULER
from tests.helpers import NO_INJECTION, load_tiny_pipeline, tiny_config


def reconstruction_error(pipe, frames, steps: int, init: str = "inverted", solver: str = "ddim") -> float:
    """Invert, then sample back with the same conditions and no edit; relative error to the clean latents."""
    config = tiny_config(
        steps=steps, inversion_steps=steps, injection=NO_INJECTION, guidance_scale=1.0, start_step=0, init=init
    )
    config = dataclasses.replace(config, inversion=dataclasses.replace(config.inversion, solver=solver))
    clean = pipe.backbone.encode_video(frames, sample=False, generator=None)
    generator = torch.Generator().manual_seed(0)
    latents = pipe.edit(frames, frames[0], "", config=config, generator=generator, output_type="latent")
    return ((latents - clean).norm() / clean.norm()).item()


def test_inversion_then_sampling_reconstructs_the_source_better_with_more_steps(tiny_model, source_frames):
    pipe = load_tiny_pipeline(tiny_model)
    errors = [reconstruction_error(pipe, source_frames, steps) for steps in (5, 10, 40)]
    from_noise = reconstruction_error(pipe, source_frames, 10, init="noise")
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.5 * errors[0]
    assert errors[2] < 0.5 * from_noise


def test_inversion_stops_at_the_highest_level_sampling_needs(tiny_model, source_frames):
    pipe = load_tiny_pipeline(tiny_model)
    inverted = pipe.invert(source_frames, config=tiny_config(steps=10, inversion_steps=50))
    assert sorted(inverted) == list(range(1, 10))  # sampling-grid positions; sampling starts at step 1
    assert pipe.stats.unet_calls == 41  # inversion timesteps 1, 21, ..., 801


@pytest.mark.parametrize(("steps", "inversion_steps", "suggested"), [(25, 20, 25), (30, 300, 309)])
def test_mismatched_step_counts_are_refused_with_a_count_that_works(
    tiny_model, source_frames, edited_frame, steps, inversion_steps, suggested
):
    pipe = load_tiny_pipeline(tiny_model)
    with pytest.raises(AnyV2VError, match=f"use {suggested} inversion steps") as refusal:
        pipe.edit(source_frames, edited_frame, "x", config=tiny_config(steps=steps, inversion_steps=inversion_steps))
    assert "\n" not in str(refusal.value)
    process = pipe.backbone.process
    needed = process.grid(steps)[1:steps]  # the levels sampling starts from or injects at (start step 1)
    assert None not in grid_positions(needed, process.grid(suggested))  # the suggestion works


def test_cache_is_hit_on_the_second_run_with_identical_output(tiny_model, tmp_path, source_frames, edited_frame):
    pipe = load_tiny_pipeline(tiny_model, cache_dir=tmp_path)
    config = tiny_config(steps=10, inversion_steps=20)
    first = pipe.edit(source_frames, edited_frame, "a green square", config=config, output_type="np")
    first_calls = pipe.stats.unet_calls
    assert not pipe.stats.inversion_cache_hit
    assert len(list(tmp_path.glob("*.safetensors"))) == 1

    second = pipe.edit(source_frames, edited_frame, "a green square", config=config, output_type="np")
    assert pipe.stats.inversion_cache_hit
    assert pipe.stats.unet_calls == first_calls - 17  # the 17 inversion calls (clean level up to 801) are gone
    assert (first == second).all()

    other_video = [frame.rotate(90) for frame in source_frames]
    pipe.edit(other_video, edited_frame, "a green square", config=config, output_type="latent")
    assert not pipe.stats.inversion_cache_hit
    assert len(list(tmp_path.glob("*.safetensors"))) == 2


def test_cache_files_are_written_atomically(tmp_path):
    cache = InversionCache(tmp_path)
    cache.save("key", {1: torch.ones(2), 51: torch.zeros(2)}, {"model": "m"})
    assert [p.name for p in tmp_path.iterdir()] == ["key.safetensors"]
    assert cache.load("key", [1, 51], (2,), torch.device("cpu"))[51].sum() == 0
    assert cache.load("key", [1, 101], (2,), torch.device("cpu")) is None
    with pytest.warns(UserWarning, match="another shape; recomputing"):
        assert cache.load("key", [1], (3,), torch.device("cpu")) is None  # a miss, not an error


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
    """The exact prediction of data drawn from N(0, std²) under a noise process: the sampling ODE then has a
    closed-form solution, x = x_clean · √(signal² std² + noise²) / std at any level, so an inversion's error can
    be measured exactly. It reads the level it is told, as a real model does."""

    def __init__(self, process, grid, std: float = 0.3):
        self.process, self.std = process, std
        self.grid = grid

    def __call__(self, latents: torch.Tensor, timestep: torch.Tensor, condition) -> torch.Tensor:
        level = min(self.grid, key=lambda level: abs(level.timestep - float(timestep)))  # told in float32
        a, b, x = level.signal, level.noise, latents.double()
        if isinstance(self.process, EDMProcess):
            x = x * math.sqrt(b**2 + 1)  # an EDM model sees x / √(σ² + 1)
        variance = a**2 * self.std**2 + b**2
        clean, eps = a * self.std**2 * x / variance, b * x / variance
        if isinstance(self.process, FlowMatchingProcess):
            return (eps - clean).to(latents.dtype)
        if isinstance(self.process, EDMProcess):  # EDM's v: what `split` turns back into `clean`
            return (eps if b == 0 else (x / (b**2 + 1) - clean) * math.sqrt(b**2 + 1) / b).to(latents.dtype)
        return (a * eps - b * clean).to(latents.dtype)  # v-prediction

    def exact(self, clean: torch.Tensor, level) -> torch.Tensor:
        return clean * math.sqrt(level.signal**2 * self.std**2 + level.noise**2) / self.std


SVD_SCHEDULER = SCHEDULER_CONFIG
PROCESSES = {
    "diffusion (v)": DiffusionProcess(I2VGENXL_SCHEDULER),
    "flow matching": FlowMatchingProcess({"shift": 3.0}),
    "edm": EDMProcess(SVD_SCHEDULER),
}


def quiet(items, _description):
    return items


def gaussian_problem(process_name: str, steps: int) -> tuple[list, GaussianData, Denoiser, torch.Tensor]:
    """The process's grid, the exact model of Gaussian data on it, that model as a denoiser, and clean latents."""
    process = PROCESSES[process_name]
    grid = process.grid(steps)
    model = GaussianData(process, grid)
    denoiser = Denoiser(model, process, classifier_free_guidance)
    clean = torch.randn(1, 4, 2, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * model.std
    return grid, model, denoiser, clean


def inversion_error(solver: str, steps: int, process_name: str = "diffusion (v)", noise: float = 0.9) -> float:
    """Relative error of the inverted latent at the grid level nearest `noise` (a high level, near where
    sampling starts)."""
    grid, model, denoiser, clean = gaussian_problem(process_name, steps)
    keep = min(range(len(grid)), key=lambda i: abs(grid[i].noise / math.hypot(grid[i].signal, grid[i].noise) - noise))
    inverted = INVERTERS[solver](denoiser, clean, grid, None, 1.0, [keep], progress=quiet)[keep]
    exact = model.exact(clean, grid[keep])
    return ((inverted - exact).norm() / exact.norm()).item()


def test_second_order_inversion_is_far_closer_to_the_exact_path_than_ddim_at_equal_steps():
    ddim = {steps: inversion_error("ddim", steps, noise=0.99) for steps in (25, 50, 500)}
    second = {steps: inversion_error("second-order", steps, noise=0.99) for steps in (25, 50)}
    assert ddim[25] > ddim[50] > ddim[500]  # DDIM converges, slowly
    assert second[50] < 1.1 * ddim[500]  # 50 second-order steps come as close as the reference's 500 DDIM steps
    assert second[50] < ddim[50] / 5
    assert second[25] / second[50] > 3  # halving the step cuts its error over 3x; DDIM's only halves
    assert ddim[25] / ddim[50] < 2.5


def test_both_inverters_converge_on_a_flow_matching_process_too():
    first = {steps: inversion_error("ddim", steps, "flow matching") for steps in (25, 50, 100)}
    second = {steps: inversion_error("second-order", steps, "flow matching") for steps in (25, 50, 100)}
    assert first[25] > first[50] > first[100]
    assert first[50] / first[100] < 2.5  # first order: about 2x per halving
    assert second[50] / second[100] > 3  # second order: about 4x per halving
    assert second[50] < first[50] / 2


def test_both_inverters_converge_at_their_order_on_an_edm_process():
    """Stable Video Diffusion's process: x = x0 + σ ε on a Karras grid, EDM-scaled v, scaled model input."""
    first = {steps: inversion_error("ddim", steps, "edm") for steps in (50, 100, 200)}
    second = {steps: inversion_error("second-order", steps, "edm") for steps in (50, 100, 200)}
    assert 1.5 < first[50] / first[100] < 2.5 and 1.5 < first[100] / first[200] < 2.5  # first order
    assert second[50] / second[100] > 3 and second[100] / second[200] > 3  # second order
    assert second[100] < first[100] / 5


def round_trip_error(process_name: str, steps: int, iterations: int) -> float:
    """Relative error of inverting to the top of the grid and sampling back down with first-order steps."""
    grid, _, denoiser, clean = gaussian_problem(process_name, steps)
    top = first_order_invert(denoiser, clean, grid, None, 1.0, [0], progress=quiet, iterations=iterations)[0]
    back = sample(denoiser, top, grid, None, 1.0, progress=quiet)
    return ((back - clean).norm() / clean.norm()).item()


@pytest.mark.parametrize("process_name", list(PROCESSES))
def test_the_sampler_retraces_a_fixed_point_inversion_exactly_as_the_iterations_converge(process_name):
    errors = {iterations: round_trip_error(process_name, 25, iterations) for iterations in (0, 1, 2, 4, 8)}
    assert errors[0] > 0.1  # the official inversion's round trip
    assert all(errors[k] < errors[0] / 2**k for k in errors if k)  # each iteration at least halves the miss
    assert errors[8] < 1e-3


def test_the_pipeline_inverts_with_the_configured_solver_and_caches_each_apart(tiny_model, tmp_path, source_frames):
    pipe = load_tiny_pipeline(tiny_model, cache_dir=tmp_path)
    ddim = tiny_config(steps=5, inversion_steps=10)
    second_order = dataclasses.replace(ddim, inversion=dataclasses.replace(ddim.inversion, solver="second-order"))
    by_ddim = pipe.invert(source_frames, config=ddim)
    by_second_order = pipe.invert(source_frames, config=second_order)
    assert not pipe.stats.inversion_cache_hit and len(list(tmp_path.glob("*.safetensors"))) == 2
    assert by_ddim.keys() == by_second_order.keys()
    assert all(not torch.equal(by_ddim[t], by_second_order[t]) for t in by_ddim)


def test_the_fixed_point_solver_costs_one_model_call_per_iteration_and_reconstructs_better(tiny_model, source_frames):
    pipe = load_tiny_pipeline(tiny_model)
    config = tiny_config(steps=10, inversion_steps=10)
    fixed_point = dataclasses.replace(config.inversion, solver="fixed-point", iterations=3)
    pipe.invert(source_frames, config=dataclasses.replace(config, inversion=fixed_point))
    assert pipe.stats.unet_calls == 4 * 9  # 9 steps up to grid position 1, the first guess and 3 iterations each
    official = reconstruction_error(pipe, source_frames, 10)
    retraced = reconstruction_error(pipe, source_frames, 10, solver="fixed-point")
    assert retraced < official / 3


def test_a_model_predicting_clean_samples_is_refused_in_one_line():
    with pytest.raises(AnyV2VError, match="use an epsilon or v model"):
        DiffusionProcess({**I2VGENXL_SCHEDULER, "prediction_type": "sample"})
