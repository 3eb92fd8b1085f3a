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


def test_frames_dropped_or_resized_from_the_input_are_said_in_one_line(pipe, edited_frame):
    from tests.conftest import moving_square_frames

    config = tiny_config(steps=2, inversion_steps=4)
    more = moving_square_frames(count=6)
    with pytest.warns(UserWarning, match="editing the first 4 of the 6 frames given"):
        assert len(pipe.edit(more, edited_frame, "x", config=config)) == 4
    wide = [frame.resize((72, 32)) for frame in moving_square_frames(count=4)]
    with pytest.warns(UserWarning, match="resizing the 72x32 frames to 32x32"):
        pipe.edit(wide, edited_frame, "x", config=config)


def test_the_shipped_toy_model_loads_by_name(tmp_path):
    from anyv2v.pipeline import AnyV2VPipeline
    from anyv2v.toy.shipped import shipped_model

    pipe = AnyV2VPipeline.from_pretrained("toy", device="cpu", use_cache=False, progress=False)
    assert pipe.model_id == str(shipped_model("i2vgen-xl")) and pipe.backbone.unet.config.sample_size == 16


def test_loading_with_progress_off_shows_no_library_bars(tiny_model, capfd):
    load_tiny_pipeline(tiny_model)
    assert "Loading" not in capfd.readouterr().err


def test_a_damaged_cache_entry_is_a_miss_that_is_recomputed_and_replaced(
    tiny_model, tmp_path, source_frames, edited_frame
):
    config = tiny_config(steps=4, inversion_steps=8)
    pipe = load_tiny_pipeline(tiny_model, cache_dir=tmp_path)
    first = pipe.edit(source_frames, edited_frame, "x", config=config, output_type="np")
    (entry,) = tmp_path.glob("*.safetensors")
    entry.write_bytes(entry.read_bytes()[:1000])  # truncated, as by a full disk or a killed copy
    with pytest.warns(UserWarning, match="is unreadable .*; recomputing it"):
        again = pipe.edit(source_frames, edited_frame, "x", config=config, output_type="np")
    assert not pipe.stats.inversion_cache_hit
    np.testing.assert_array_equal(first, again)
    pipe.edit(source_frames, edited_frame, "x", config=config, output_type="np")
    assert pipe.stats.inversion_cache_hit  # replaced by a whole entry


def test_a_hub_id_offline_and_not_cached_fails_at_once_naming_the_cause(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    from anyv2v.pipeline import AnyV2VPipeline

    def unreachable(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    def not_cached(*args, **kwargs):
        raise LocalEntryNotFoundError("not in the cache")

    monkeypatch.setattr(huggingface_hub, "model_info", unreachable)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", not_cached)
    with pytest.raises(AnyV2VError, match="hub cannot be reached .* 'ali-vilab/i2vgen-xl' is not in the local cache"):
        AnyV2VPipeline.from_pretrained(device="cpu", use_cache=False)


def test_a_reused_inversion_is_announced(tiny_model, tmp_path, source_frames, capsys):
    from anyv2v.pipeline import AnyV2VPipeline

    config = tiny_config(steps=2, inversion_steps=4)
    pipe = AnyV2VPipeline.from_pretrained(str(tiny_model), device="cpu", cache_dir=str(tmp_path), progress=True)
    pipe.invert(source_frames, config=config)
    assert "reusing" not in capsys.readouterr().err
    pipe.invert(source_frames, config=config)
    assert f"inversion: reusing {tmp_path}" in capsys.readouterr().err
