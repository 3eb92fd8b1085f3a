"""anyv2v.noise: each process's grid and its one generic step equal diffusers' own scheduler for that model
family, step for step, so that a backbone gets its model's sampler exactly."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDIMScheduler, EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

from anyv2v.backbones.wan import SCHEDULER_CONFIG as WAN_SCHEDULER
from anyv2v.errors import AnyV2VError
from anyv2v.noise import DiffusionProcess, EDMProcess, FlowMatchingProcess, step
from anyv2v.toy.model import I2VGENXL_SCHEDULER
from tests.test_inversion import SVD_SCHEDULER

CASES = {
    "ddim (I2VGen-XL)": (lambda: DiffusionProcess(I2VGENXL_SCHEDULER), lambda: DDIMScheduler(**I2VGENXL_SCHEDULER)),
    "euler (SVD)": (lambda: EDMProcess(SVD_SCHEDULER), lambda: EulerDiscreteScheduler(**SVD_SCHEDULER)),
    "flow euler (Wan)": (
        lambda: FlowMatchingProcess({"shift": 3.0}),
        lambda: FlowMatchEulerDiscreteScheduler(shift=3.0),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sampling_with_the_generic_step_equals_the_diffusers_scheduler(case):
    make_process, make_scheduler = CASES[case]
    process, scheduler = make_process(), make_scheduler()
    steps = 12
    grid = process.grid(steps)
    scheduler.set_timesteps(steps)
    torch.testing.assert_close(torch.tensor([level.timestep for level in grid[:-1]]), scheduler.timesteps.float())

    scale = process.initial_scale(grid[0])
    torch.testing.assert_close(scale, float(getattr(scheduler, "init_noise_sigma", 1.0)), rtol=1e-6, atol=0)
    ours = theirs = torch.randn(1, 4, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * scale
    for i, timestep in enumerate(scheduler.timesteps):
        if hasattr(scheduler, "scale_model_input"):  # the flow scheduler has none: its model sees x as it is
            torch.testing.assert_close(
                process.model_input(theirs, grid[i]), scheduler.scale_model_input(theirs, timestep)
            )
        ours = step(process.split(model(ours, process, i), ours, grid[i]), grid[i], grid[i + 1])
        theirs = scheduler.step(model(theirs, process, i), timestep, theirs).prev_sample
        # compared as the model sees them (unit scale): float32 latents at σ = 700 carry 1e-4 of rounding
        torch.testing.assert_close(process.model_input(ours, grid[i + 1]), process.model_input(theirs, grid[i + 1]))


def model(latents: torch.Tensor, process, i: int) -> torch.Tensor:
    """Any deterministic function of what the model sees at step i."""
    return torch.sin(3 * process.model_input(latents, process.grid(12)[i]) + i)


def test_a_unipc_flow_config_gives_its_own_sigmas_and_integer_timesteps():
    """Wan's scheduler config (UniPC with flow sigmas, shift 5): the grid is UniPC's, the model told its
    truncated integer timesteps, and a grid's levels lie on the grid of twice the steps (so inversion may
    run finer than sampling)."""
    process = FlowMatchingProcess(WAN_SCHEDULER)
    scheduler = UniPCMultistepScheduler.from_config(WAN_SCHEDULER)
    scheduler.set_timesteps(10)
    grid = process.grid(10)
    assert [level.noise for level in grid] == scheduler.sigmas.tolist() and grid[-1].noise == 0
    assert [level.timestep for level in grid] == [*map(float, scheduler.timesteps.tolist()), 0.0]
    assert all(level.signal + level.noise == 1 for level in grid)
    finer = {(level.signal, level.noise) for level in process.grid(20)}
    assert {(level.signal, level.noise) for level in grid} <= finer


def test_a_unipc_config_without_flow_sigmas_is_refused_in_one_line():
    with pytest.raises(AnyV2VError, match="a UniPC scheduler config needs use_flow_sigmas True, prediction_type"):
        FlowMatchingProcess({**WAN_SCHEDULER, "use_flow_sigmas": False})


TRAINED = {
    "ddim v (I2VGen-XL)": lambda: DiffusionProcess(I2VGENXL_SCHEDULER),
    "ddim epsilon": lambda: DiffusionProcess(
        {**I2VGENXL_SCHEDULER, "prediction_type": "epsilon", "rescale_betas_zero_snr": False}
    ),  # an epsilon model has no clean estimate at zero signal
    "euler EDM (SVD)": lambda: EDMProcess(SVD_SCHEDULER),
    "flow euler": lambda: FlowMatchingProcess({"shift": 3.0}),
    "flow unipc (Wan 2.1)": lambda: FlowMatchingProcess(WAN_SCHEDULER),
}


@pytest.mark.parametrize("case", list(TRAINED))
def test_the_training_target_is_the_output_that_split_reads_back_as_the_clean_latent_and_its_noise(case):
    process = TRAINED[case]()
    clean, noise = torch.randn(2, 1, 4, 3, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ratios = []
    for position in (0.0, 0.01, 0.3, 0.7, 0.999):
        level = process.training_level(position)
        latents = process.noised(clean, noise, level)
        prediction = process.split(process.target(clean, noise, level), latents, level)
        torch.testing.assert_close(prediction.denoised, clean)
        torch.testing.assert_close(prediction.epsilon, noise)
        ratios.append(level.sigma)
    assert ratios == sorted(ratios) and len(set(ratios)) == len(ratios)  # noisier as the position grows


def test_training_levels_are_the_ones_the_models_sampler_tells_and_walks():
    ddim = DiffusionProcess(I2VGENXL_SCHEDULER)
    scheduler = DDIMScheduler(**I2VGENXL_SCHEDULER)
    clean, noise = torch.randn(2, 1, 4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    level = ddim.training_level(0.5)
    timestep = torch.tensor([int(level.timestep)])
    assert level.timestep == 500
    torch.testing.assert_close(ddim.noised(clean, noise, level), scheduler.add_noise(clean, noise, timestep))
    torch.testing.assert_close(ddim.target(clean, noise, level), scheduler.get_velocity(clean, noise, timestep))
    assert ddim.training_level(0.9999).timestep == 999

    edm = EDMProcess(SVD_SCHEDULER)
    assert edm.training_level(0).noise == pytest.approx(0.002) and edm.training_level(1).noise == pytest.approx(700)
    for level in edm.grid(10)[:-1]:  # the sampler tells 0.25 ln σ, as training does
        assert level.timestep == pytest.approx(0.25 * math.log(level.noise), rel=1e-5)

    flow = FlowMatchingProcess({"shift": 3.0})
    assert flow.training_level(0.5).noise == pytest.approx(0.75) and flow.training_level(0.5).timestep == 750
    for level in flow.grid(6)[:-1]:  # each of the sampler's levels is a training level, told the same timestep
        position = level.noise / (3.0 - 2.0 * level.noise)  # the shift undone
        trained = flow.training_level(position)
        assert (trained.noise, trained.timestep) == pytest.approx((level.noise, level.timestep), rel=1e-5)


def test_wan_22s_given_first_frame_is_its_own_target_and_the_rest_are_velocities():
    from anyv2v.backbones.wan import GivenFirstFrameFlow

    process = GivenFirstFrameFlow(WAN_SCHEDULER)
    clean, noise = torch.randn(2, 1, 4, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    level = process.training_level(0.4)
    target = process.target(clean, noise, level)
    torch.testing.assert_close(target[:, :, :1], clean[:, :, :1])
    torch.testing.assert_close(target[:, :, 1:], (noise - clean)[:, :, 1:])
