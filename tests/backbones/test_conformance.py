"""What every backbone must do, on tiny random weights: one parametrized suite that a new backbone joins by
adding a case. The fake flow backbone (fake_flow.py) keeps the generic modules honest about layouts, noise
grids and output kinds. (Equality with diffusers' own pipeline is backbone-specific: test_i2vgen_xl.py.)"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from anyv2v.backbones import Backbone, I2VGenXL, StableVideoDiffusion, Wan
from anyv2v.cache import InversionCache
from anyv2v.config import EditConfig, InjectionConfig, InversionConfig, SamplingConfig, VideoConfig
from anyv2v.injection import injection_schedule
from anyv2v.pipeline import AnyV2VPipeline
from tests.backbones.fake_flow import FakeFlow, save_fake_flow
from tests.backbones.tiny_svd import save_tiny_svd
from tests.backbones.tiny_wan import save_tiny_wan, save_tiny_wan_21
from tests.conftest import moving_square_frames
from tests.tiny_model import save_tiny_model


@dataclass(frozen=True)
class Case:
    backbone: type[Backbone]
    save: Callable[[Path], Path]
    video: VideoConfig
    prompt: str
    inversion_steps: int  # a count whose grid holds every level of 10 sampling steps
    retrace_steps: int  # steps short enough for the fixed-point iteration to converge on the random weights


CASES = {
    "i2vgen-xl": Case(I2VGenXL, save_tiny_model, VideoConfig(4, 8.0, 32, 32), "a square", 20, retrace_steps=16),
    "fake-flow": Case(FakeFlow, save_fake_flow, VideoConfig(5, 8.0, 16, 16), "", 19, retrace_steps=8),
    "svd": Case(StableVideoDiffusion, save_tiny_svd, VideoConfig(5, 7.0, 64, 64), "", 10, retrace_steps=32),
    # Wan 2.1 I2V style on FlowMatchEuler's grid; Wan 2.2 TI2V style on its own UniPC flow-sigma grid
    "wan-2.1": Case(Wan, save_tiny_wan_21, VideoConfig(5, 16.0, 32, 32), "a square", 19, retrace_steps=8),
    "wan-2.2": Case(Wan, save_tiny_wan, VideoConfig(5, 24.0, 64, 64), "a square", 20, retrace_steps=8),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request, tmp_path_factory) -> tuple[Case, Path]:
    spec = CASES[request.param]
    return spec, spec.save(tmp_path_factory.mktemp(request.param) / "model")


def load(case: tuple[Case, Path], cache: Path | None = None) -> AnyV2VPipeline:
    """The pipeline set to the case's video, as a run prepares the backbone (Wan 2.1 encodes the first frame
    for the clip's length)."""
    spec, folder = case
    backbone = spec.backbone.from_pretrained(str(folder), dtype=torch.float32, device=torch.device("cpu"))
    return AnyV2VPipeline(
        backbone, config(spec), model_id=str(folder), cache=InversionCache(cache) if cache else None, progress=False
    )


def config(spec: Case, steps: int = 10, inversion_steps: int | None = None, **sampling) -> EditConfig:
    return EditConfig(
        video=spec.video,
        inversion=InversionConfig(steps=inversion_steps or spec.inversion_steps),
        sampling=dataclasses.replace(SamplingConfig(steps=steps, negative_prompt="", guidance_scale=2.0), **sampling),
    )


def frames(spec: Case, colour=(220, 40, 40)) -> list[Image.Image]:
    return moving_square_frames(spec.video.num_frames, spec.video.height, colour)


def test_predictions_have_the_latent_shape_for_a_batch_of_branches(case):
    spec, _ = case
    pipe = load(case)
    backbone = pipe.backbone
    frame = backbone.encode_frame(frames(spec)[0], sample=False, generator=None)
    branches = type(backbone.condition("", frame, spec.video)).cat(
        [backbone.condition("", frame, spec.video, negative=True), backbone.condition(spec.prompt, frame, spec.video)]
    )
    latents = backbone.encode_video(frames(spec), sample=False, generator=None)
    assert latents.shape == backbone.latent_shape(spec.video)
    output = backbone.predict(
        torch.cat([latents, latents]), torch.tensor(backbone.process.grid(4)[1].timestep), branches
    )
    assert output.shape == (2, *latents.shape[1:])


def test_every_injection_kind_fires_on_exactly_its_scheduled_steps(case):
    spec, _ = case
    pipe = load(case)
    edit = config(spec)
    defaults = pipe.backbone.injection_fractions(edit.injection)
    # every kind on, those off by default too (Wan's hidden states), so that each one's hooks are checked
    every_kind = {kind: fraction or 0.5 for kind, fraction in defaults.items()}
    edit = dataclasses.replace(edit, injection=dataclasses.replace(edit.injection, fractions=every_kind))
    pipe.edit(frames(spec), frames(spec, (40, 220, 40))[0], spec.prompt, config=edit, output_type="latent")
    schedule = injection_schedule(every_kind, edit.sampling.steps, edit.sampling.start_step, True)
    sites = pipe.backbone.injection_sites(edit.injection)
    for kind, steps in schedule.items():
        assert steps, kind  # each kind is scheduled on some step
        assert {step for k, step in pipe.stats.injections if k == kind} == steps, kind
        assert all(pipe.stats.injections[kind, step] == len(sites[kind]) for step in steps), kind
    assert not any(module._forward_hooks for module in pipe.backbone.denoiser_module.modules())


def test_hooks_are_gone_after_an_error(case, monkeypatch):
    spec, _ = case
    pipe = load(case)
    real_predict, calls = pipe.backbone.predict, []

    def failing_predict(latents, timestep, condition):
        calls.append(latents.shape[0])
        if latents.shape[0] == 3:  # the first injected step: source, negative and edit branches
            raise RuntimeError("out of memory")
        return real_predict(latents, timestep, condition)

    monkeypatch.setattr(pipe.backbone, "predict", failing_predict)
    with pytest.raises(RuntimeError, match="out of memory"):
        pipe.edit(frames(spec), frames(spec)[0], spec.prompt, config=config(spec))
    assert calls[-1] == 3
    assert not any(module._forward_hooks for module in pipe.backbone.denoiser_module.modules())


def reconstruction_error(pipe: AnyV2VPipeline, spec: Case, steps: int, **inversion) -> float:
    """Invert the source, then sample back over the same steps with no edit; relative error in latent space."""
    source = frames(spec)
    clean = pipe.backbone.encode_video(source, sample=False, generator=None)
    edit = config(spec, steps=steps, inversion_steps=steps, guidance_scale=1.0, start_step=0)
    edit = dataclasses.replace(
        edit, inversion=dataclasses.replace(edit.inversion, **inversion), injection=InjectionConfig(enabled=False)
    )
    latents = pipe.edit(source, source[0], "", config=edit, output_type="latent")
    return ((latents - clean).norm() / clean.norm()).item()


def test_reconstruction_error_falls_as_inversion_steps_grow(case):
    spec, _ = case
    pipe = load(case)
    errors = [reconstruction_error(pipe, spec, steps) for steps in (4, 8, 32)]  # at 32, 0.10-0.36 of the error at 4
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.5 * errors[0]


def test_the_sampler_retraces_the_fixed_point_inversion(case):
    """In the case's `retrace_steps` (the error falls 12 to 40,000-fold on the random weights when written)."""
    spec, _ = case
    pipe = load(case)
    official = reconstruction_error(pipe, spec, spec.retrace_steps)
    retraced = reconstruction_error(pipe, spec, spec.retrace_steps, solver="fixed-point", iterations=4)
    assert retraced < official / 10


def test_a_given_first_frame_is_the_outputs_first_latent_frame(case):
    spec, _ = case
    pipe = load(case)
    source, edited = frames(spec), frames(spec, (40, 220, 40))[0]
    axis = pipe.backbone.latent_layout.index("F")
    given = pipe.backbone.encode_video([edited], sample=False, generator=None)
    latents = pipe.edit(source, edited, spec.prompt, config=config(spec, first_frame="given"), output_type="latent")
    generated = pipe.edit(source, edited, spec.prompt, config=config(spec), output_type="latent")
    torch.testing.assert_close(latents.narrow(axis, 0, 1), given, atol=1e-4, rtol=1e-4)
    given_by_the_model = getattr(pipe.backbone, "expand_timesteps", False)  # Wan 2.2's process gives frame 0
    assert torch.allclose(generated.narrow(axis, 0, 1), given, atol=1e-2) == given_by_the_model


def test_cache_round_trip_gives_an_identical_edit(case, tmp_path):
    spec, _ = case
    pipe = load(case, cache=tmp_path)
    source, edited = frames(spec), frames(spec, (40, 220, 40))[0]
    first = pipe.edit(source, edited, spec.prompt, config=config(spec), output_type="np")
    assert not pipe.stats.inversion_cache_hit
    second = pipe.edit(source, edited, spec.prompt, config=config(spec), output_type="np")
    assert pipe.stats.inversion_cache_hit
    np.testing.assert_array_equal(first, second)


def test_the_backbone_declares_what_the_generic_code_reads(case):
    spec, _ = case
    backbone = spec.backbone
    assert backbone.default_preset in backbone.presets and backbone.default_model
    assert sorted(backbone.latent_layout) == sorted("BCFHW")
    assert backbone.denoiser in backbone.components
    for preset in backbone.presets.values():
        backbone.check(preset)
    assert all(0 <= kind.fraction <= 1 and kind.sites for kind in backbone.injection_kinds.values())
