from __future__ import annotations

import numpy as np
import pytest
import torch

from anyv2v.config import InjectionConfig, VideoConfig
from anyv2v.injection import injection_steps
from tests.helpers import NO_INJECTION, load_tiny_pipeline, only, tiny_config


def test_official_schedule_counts_the_skipped_first_step():
    assert len(injection_steps(50, 0.2, start_step=1, count_skipped_steps=True)) == 9
    assert injection_steps(10, 0.2, start_step=1, count_skipped_steps=True) == {1}
    assert len(injection_steps(50, 0.5, start_step=1, count_skipped_steps=True)) == 24


def test_corrected_schedule_injects_the_full_fraction_of_sampled_steps():
    assert injection_steps(50, 0.2, start_step=1, count_skipped_steps=False) == set(range(1, 11))
    assert injection_steps(10, 0.0, start_step=1, count_skipped_steps=False) == set()


@pytest.fixture
def pipe(tiny_model):
    return load_tiny_pipeline(tiny_model)


def run(pipe, source_frames, edited_frame, injection: InjectionConfig, steps: int = 10, **sampling):
    config = tiny_config(steps=steps, inversion_steps=2 * steps, injection=injection, **sampling)
    return pipe.edit(source_frames, edited_frame, "a green square", config=config, output_type="np")


def test_each_site_fires_exactly_on_its_scheduled_steps(pipe, source_frames, edited_frame):
    fractions = {"conv": 0.2, "spatial_attention": 0.3, "temporal_attention": 0.5}
    run(pipe, source_frames, edited_frame, InjectionConfig(fractions=fractions))
    fired = pipe.stats.injections
    expected = {"conv": [1], "spatial_attention": [1, 2], "temporal_attention": [1, 2, 3, 4]}
    hooks_per_step = {"conv": 1, "spatial_attention": 16, "temporal_attention": 16}
    for kind, steps in expected.items():
        assert {t for k, t in fired if k == kind} == set(steps), kind
        assert all(fired[kind, t] == hooks_per_step[kind] for t in steps), kind
    # The source branch joins the batch only on injection steps: 4 steps at batch 3, 5 at batch 2.
    sampling_items = pipe.stats.unet_batch_items - (pipe.stats.unet_calls - 9)
    assert sampling_items == 4 * 3 + 5 * 2


@pytest.mark.parametrize("kind", ["conv", "spatial_attention", "temporal_attention"])
def test_each_kind_of_injection_changes_the_result(pipe, source_frames, edited_frame, kind):
    without = run(pipe, source_frames, edited_frame, NO_INJECTION, steps=4)
    with_one = run(pipe, source_frames, edited_frame, only(kind, 0.5), steps=4)  # injected on step 1 of 1..3
    assert {k for k, _ in pipe.stats.injections} == {kind}
    assert np.abs(with_one - without).max() > 1e-3


def test_hooks_are_removed_after_an_edit(pipe, source_frames, edited_frame):
    unet = pipe.backbone.unet
    probe = _probe_inputs(pipe)
    before = pipe.backbone.predict(*probe)
    run(pipe, source_frames, edited_frame, InjectionConfig())
    assert pipe.stats.injections
    assert not any(module._forward_hooks for module in unet.modules())
    torch.testing.assert_close(pipe.backbone.predict(*probe), before, rtol=0, atol=0)


def test_hooks_are_removed_when_sampling_fails(pipe, source_frames, edited_frame, monkeypatch):
    real_predict = pipe.backbone.predict
    calls = []

    def failing_predict(latents, timestep, condition):
        calls.append(latents.shape[0])
        if latents.shape[0] == 3:  # the first injected sampling step
            raise RuntimeError("out of memory")
        return real_predict(latents, timestep, condition)

    monkeypatch.setattr(pipe.backbone, "predict", failing_predict)
    with pytest.raises(RuntimeError, match="out of memory"):
        run(pipe, source_frames, edited_frame, InjectionConfig())
    assert calls[-1] == 3
    assert not any(module._forward_hooks for module in pipe.backbone.unet.modules())


def _probe_inputs(pipe):
    generator = torch.Generator().manual_seed(1)
    backbone = pipe.backbone
    video = VideoConfig(num_frames=4, fps=8.0, height=32, width=32)
    latents = torch.randn(backbone.latent_shape(video), generator=generator)
    frame = backbone.encode_frame(_gray_frame(), sample=False, generator=None)
    condition = backbone.condition("probe", frame, video)
    return latents, torch.tensor(501), condition


def _gray_frame():
    from PIL import Image

    return Image.new("RGB", (32, 32), (128, 128, 128))
