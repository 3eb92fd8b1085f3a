from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from anyv2v.backbones import I2VGenXL
from anyv2v.cli import main
from anyv2v.evaluation import full_size
from anyv2v.evaluation.speed import STAGES, summarize_speed, time_presets
from anyv2v.pipeline import AnyV2VPipeline
from tests.helpers import shorten_reference_preset

TINY = full_size.Architecture(
    unet={"block_out_channels": (8, 8, 16, 16), "norm_num_groups": 4, "cross_attention_dim": 16,
          "attention_head_dim": 4},
    vae={"block_out_channels": (8, 16), "down_block_types": ("DownEncoderBlock2D",) * 2,
         "up_block_types": ("UpDecoderBlock2D",) * 2, "norm_num_groups": 4, "sample_size": 32},
    text_encoder={"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 2,
                  "projection_dim": 16, "vocab_size": 600},
    image_encoder={"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 2,
                   "image_size": 32, "patch_size": 8, "projection_dim": 16},
)  # fmt: skip
TINY_SVD = full_size.SVDArchitecture(
    unet={"sample_size": 16, "block_out_channels": (32, 32, 32, 32), "cross_attention_dim": 32,
          "num_attention_heads": (2, 2, 2, 2), "addition_time_embed_dim": 8,
          "projection_class_embeddings_input_dim": 24, "num_frames": 3},
    vae={"block_out_channels": (32, 32, 32), "down_block_types": ("DownEncoderBlock2D",) * 3,
         "layers_per_block": 1},
    image_encoder={**TINY.image_encoder, "hidden_size": 32, "projection_dim": 32},
)  # fmt: skip
TINY_WAN = full_size.WanArchitecture(
    transformer={**full_size.FULL_SIZE_WAN.transformer, "num_attention_heads": 2, "attention_head_dim": 12,
                 "in_channels": 8, "out_channels": 8, "text_dim": 16, "freq_dim": 32, "ffn_dim": 32, "num_layers": 2,
                 "rope_max_seq_len": 32},
    vae={**full_size.FULL_SIZE_WAN.vae, "base_dim": 8, "decoder_base_dim": 8, "z_dim": 8, "dim_mult": [1, 1, 1, 1],
         "num_res_blocks": 1},
    text_encoder={**full_size.FULL_SIZE_WAN.text_encoder, "vocab_size": 200, "d_model": 16, "d_kv": 8, "d_ff": 32,
                  "num_layers": 2, "num_heads": 2, "relative_attention_num_buckets": 8,
                  "relative_attention_max_distance": 16},
)  # fmt: skip
SMALL_VIDEO = ["--num-frames", "2", "--height", "16", "--width", "16"]


def test_the_full_size_architecture_has_the_published_widths():
    architecture = full_size.FULL_SIZE
    assert architecture.unet == {}  # diffusers' defaults: blocks 320-640-1280-1280, cross-attention 1024
    assert architecture.text_encoder["hidden_size"] == 1024 == architecture.image_encoder["projection_dim"]
    assert architecture.vae["block_out_channels"] == (128, 256, 512, 512)


def test_a_random_model_of_an_architecture_runs_the_pipeline():
    backbone = full_size.random_i2vgen_xl(TINY, dtype=torch.float32, device=torch.device("cpu"))
    counts = full_size.parameter_counts(backbone)
    assert set(counts) == {"unet", "vae", "text_encoder", "image_encoder"} and min(counts.values()) > 0
    frames = full_size.moving_pattern(3, 16, 24)
    assert len(frames) == 3 and frames[0].size == (24, 16)
    assert not np.array_equal(np.asarray(frames[0]), np.asarray(frames[1]))  # it moves
    pipe = AnyV2VPipeline(backbone, progress=False)
    output = pipe.edit(frames[:2], frames[0], "a prompt", config=_small(I2VGenXL.presets["fast"]), output_type="np")
    assert output.shape == (2, 16, 16, 3) and np.isfinite(output).all()


def test_time_presets_measures_each_preset_from_a_fresh_inversion():
    backbone = full_size.random_i2vgen_xl(TINY, dtype=torch.float32, device=torch.device("cpu"))
    pipe = AnyV2VPipeline(backbone, progress=False, cache=None)
    presets = {"reference": _small(I2VGenXL.presets["reference"], 20), "fast": _small(I2VGenXL.presets["fast"], 10)}
    rows = time_presets(pipe, presets)
    assert [r["preset"] for r in rows] == ["reference", "reference", "fast", "fast"]  # first edit, re-edit
    first_edits = rows[::2]
    assert all(not r["inversion_cache_hit"] and r["seconds"]["inversion"] > 0 for r in first_edits)
    assert all(r["inversion_cache_hit"] for r in rows[1::2])
    assert pipe.cache is None  # the user's cache setting is back
    summary = summarize_speed(rows)
    reference, fast = (r["unet_batch_items"] for r in first_edits)
    assert reference > fast and summary["fast"]["fewer_batch_items"] == reference / fast
    assert "psnr" not in summary["fast"]


def test_bench_full_size_writes_costs_without_quality(monkeypatch, tmp_path):
    monkeypatch.setattr(full_size, "FULL_SIZE", TINY)
    shorten_reference_preset(monkeypatch)
    args = ["bench", "--speed", "reference", "fast", "--full-size", *SMALL_VIDEO, "--device", "cpu", "--quiet"]
    assert main([*args, "-o", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "speed.json").read_text())
    assert [r["preset"] for r in report["rows"]] == ["reference", "reference", "fast", "fast"]
    assert report["configs"]["reference"]["inversion"]["steps"] == 100  # the preset's own steps, not the toy's
    assert report["setup"]["offload"] is False and report["parameters"]["unet"] > 0
    table = (tmp_path / "speed.md").read_text()
    assert "| fast |" in table and "ΔPSNR" not in table
    assert all(report["rows"][1]["seconds"][stage] >= 0 for stage in STAGES)


def test_setups_are_timed_side_by_side_with_the_output_difference(monkeypatch, tmp_path):
    monkeypatch.setattr(full_size, "FULL_SIZE", TINY)
    args = ["bench", "--speed", "fast", "--full-size", *SMALL_VIDEO, "--device", "cpu", "--quiet"]
    args += ["--inversion-steps", "10", "--steps", "5"]  # a fifth of the preset's: the steps are not what is tested
    setup = "channels-last+attention=math+feed-forward-chunks=2"
    assert main([*args, "--setups", "plain", setup, "-o", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "speed.json").read_text())
    assert report["setups"] == ["plain", setup]
    first, reedit, *others = report["rows"]
    assert [r["preset"] for r in report["rows"]] == ["fast, plain"] * 2 + [f"fast, {setup}"] * 2
    assert not first["inversion_cache_hit"] and reedit["inversion_cache_hit"]
    assert reedit["unet_batch_items"] < first["unet_batch_items"] and reedit["seconds"]["inversion"] == 0
    assert first["max_abs_difference"] == reedit["max_abs_difference"] == 0.0
    assert others[0]["max_abs_difference"] < 1e-4  # the same edit, rounded differently at most
    assert first["unet_flops_per_item"] > 0 and first["unet_batch_items_by_stage"]["inversion"] > 0
    summary = report["summary"]["fast, plain"]
    assert summary["reedit_seconds"] > 0 and summary["tflop_per_second"]["sampling"] > 0
    table = (tmp_path / "speed.md").read_text()
    assert "| re-edit s |" in table and "| TFLOP/s sampling |" in table


def test_the_full_size_svd_is_timed_at_its_own_settings(monkeypatch, tmp_path):
    monkeypatch.setattr(full_size, "FULL_SIZE_SVD", TINY_SVD)
    video = ["--num-frames", "3", "--height", "64", "--width", "64"]
    args = ["bench", "--speed", "--full-size", "--backbone", "svd", *video, "--device", "cpu", "--quiet"]
    assert main([*args, "--inversion-steps", "3", "--steps", "3", "-o", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "speed.json").read_text())
    assert [r["preset"] for r in report["rows"]] == ["fast", "fast"]  # the first edit and the re-edit
    assert report["setup"]["backbone"] == "svd" and set(report["parameters"]) == {"unet", "vae", "image_encoder"}


def test_the_full_size_wan_is_wan_22_ti2v_5b_timed_at_its_own_settings(monkeypatch, tmp_path):
    transformer = full_size.FULL_SIZE_WAN.transformer
    assert (transformer["num_layers"], transformer["num_attention_heads"] * transformer["attention_head_dim"]) == (
        30, 3072
    )  # fmt: skip
    assert full_size.FULL_SIZE_WAN.vae["z_dim"] == 48 == transformer["in_channels"]
    monkeypatch.setattr(full_size, "FULL_SIZE_WAN", TINY_WAN)
    video = ["--num-frames", "5", "--height", "64", "--width", "64"]
    args = ["bench", "--speed", "--full-size", "--backbone", "wan", *video, "--device", "cpu", "--quiet"]
    assert main([*args, "--inversion-steps", "4", "--steps", "2", "-o", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "speed.json").read_text())
    assert [r["preset"] for r in report["rows"]] == ["fast", "fast"]  # the first edit and the re-edit
    assert report["setup"]["backbone"] == "wan" and set(report["parameters"]) == {"text_encoder", "transformer", "vae"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--speed", "--full-size", "--memory-limit", "8"], "needs a CUDA device"),
        (["--full-size"], "use them with --speed"),
        (["--speed", "--full-size", "--offload"], "--offload needs a CUDA device"),
        (["--speed", "--full-size", "--sequential-offload"], "--sequential-offload needs a CUDA device"),
        (["--speed", "--full-size", "--setups", "plain", "cudnn-benchmark"], "--cudnn-benchmark needs a CUDA"),
        (["--speed", "--full-size", "--setups", "warp-drive"], "unknown speed switch 'warp-drive'"),
        (["--speed", "--full-size", "--feed-forward-chunks", "0"], "--feed-forward-chunks must be 1 or more"),
        (["--speed", "--full-size", "--backbone", "nonesuch"], "nonesuch"),
    ],
)
def test_bench_full_size_misuse_is_a_one_line_error(monkeypatch, tmp_path, capsys, extra, message):
    monkeypatch.setattr(full_size, "FULL_SIZE", TINY)
    assert main(["bench", *extra, *SMALL_VIDEO, "--device", "cpu", "--quiet", "-o", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _small(config, inversion_steps=20):
    return dataclasses.replace(
        config,
        video=dataclasses.replace(config.video, num_frames=2, height=16, width=16),
        inversion=dataclasses.replace(config.inversion, steps=inversion_steps),
        sampling=dataclasses.replace(config.sampling, steps=10, start_step=0),
    )
