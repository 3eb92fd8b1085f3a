from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from anyv2v.config import VAEConfig
from anyv2v.errors import AnyV2VError
from tests.helpers import load_tiny_pipeline, tiny_config


@pytest.fixture
def pipe(tiny_model):
    return load_tiny_pipeline(tiny_model)


def edit(pipe, source_frames, edited_frame, config, seed: int):
    generator = torch.Generator().manual_seed(seed)
    return pipe.edit(
        source_frames, edited_frame, "a green square", config=config, generator=generator, output_type="np"
    )


def test_same_seed_same_output_and_sampled_latents_follow_the_seed(pipe, source_frames, edited_frame):
    config = dataclasses.replace(tiny_config(steps=5, inversion_steps=10, eta=1.0), vae=VAEConfig(encode="sample"))
    first = edit(pipe, source_frames, edited_frame, config, seed=3)
    again = edit(pipe, source_frames, edited_frame, config, seed=3)
    other = edit(pipe, source_frames, edited_frame, config, seed=4)
    assert (first == again).all()
    assert np.abs(first - other).max() > 1e-3


def test_pil_output_has_the_configured_frames_and_size(pipe, source_frames, edited_frame):
    frames = pipe.edit(source_frames, edited_frame, "x", config=tiny_config(steps=5, inversion_steps=10))
    assert len(frames) == 4 and all(frame.size == (32, 32) and frame.mode == "RGB" for frame in frames)


def test_the_edited_frame_steers_the_result(pipe, source_frames, edited_frame):
    config = tiny_config(steps=5, inversion_steps=10)
    edited = edit(pipe, source_frames, edited_frame, config, seed=0)
    unedited = edit(pipe, source_frames, source_frames[0], config, seed=0)
    assert np.abs(edited - unedited).max() > 1e-2


def test_too_few_source_frames_is_a_clear_error(pipe, source_frames, edited_frame):
    with pytest.raises(AnyV2VError, match="has 2 frames but 4 are needed"):
        pipe.edit(source_frames[:2], edited_frame, "x", config=tiny_config())


def test_each_stage_is_timed_and_a_cached_inversion_costs_no_inversion_time(
    tiny_model, tmp_path, source_frames, edited_frame
):
    pipe = load_tiny_pipeline(tiny_model, cache_dir=tmp_path)
    config = tiny_config(steps=5, inversion_steps=10)
    edit(pipe, source_frames, edited_frame, config, seed=0)
    first = pipe.stats.costs
    assert set(first.seconds) == {"encode", "inversion", "sampling", "decode"}
    assert all(seconds > 0 for seconds in first.seconds.values())
    assert all(peak > 0 for peak in first.peak_memory.values())
    edit(pipe, source_frames, edited_frame, config, seed=0)
    assert pipe.stats.inversion_cache_hit and "inversion" not in pipe.stats.costs.seconds
