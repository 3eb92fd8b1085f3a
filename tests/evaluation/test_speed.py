from __future__ import annotations

import json

import pytest

from anyv2v.cli import main
from anyv2v.evaluation.bench import BASELINES
from anyv2v.evaluation.speed import STAGES, speed_table, summarize_speed
from tests.helpers import shorten_reference_preset


def row(preset: str, clip: int, psnr: float, items: int, seconds: float, edit: str = "recolor") -> dict:
    return {
        "preset": preset, "edit": edit, "clip": clip, "psnr": psnr, "ssim": psnr / 100, "carried": psnr / 40,
        "carried_first": 1.0,
        "unet_batch_items": items, "inversion_cache_hit": edit != "recolor",
        "seconds": {stage: seconds / len(STAGES) for stage in STAGES},
        "peak_memory": {stage: 2**20 * (i + 1) for i, stage in enumerate(STAGES)},
    }  # fmt: skip


def test_summary_pairs_each_run_with_the_baselines_run_of_the_same_clip():
    rows = [
        row("reference", 1, 20.0, 600, 8.0), row("fast", 1, 19.5, 100, 1.0),
        row("reference", 2, 30.0, 600, 8.0), row("fast", 2, 30.1, 100, 1.0),
        row("reference", 2, 25.0, 120, 2.0, "reshape"), row("fast", 2, 25.0, 50, 0.5, "reshape"),
    ]  # fmt: skip
    summary = summarize_speed(rows)
    fast = summary["fast"]
    assert fast["unet_batch_items"] == 100 and fast["unet_batch_items_cached_inversion"] == 50
    assert fast["fewer_batch_items"] == pytest.approx(6.0)
    assert fast["speedup"] == pytest.approx(8.0)  # first edits only: cached ones would flatter nobody
    assert fast["psnr_delta"]["all"][0] == pytest.approx((-0.5 + 0.1 + 0.0) / 3)
    assert fast["peak_memory_mib"] == {stage: i + 1 for i, stage in enumerate(STAGES)}
    assert fast["psnr_delta"]["reshape"] == [0.0, 0.0]
    assert summary["reference"]["psnr_delta"]["recolor"] == [0.0, 0.0]
    assert fast["carried"]["recolor"][0] == pytest.approx((19.5 + 30.1) / 2 / 40)
    table = speed_table(summary)
    assert "| fast | 100 | 6.00 | 50 |" in table and "-0.13 ±" in table


def test_baselines_get_scores_beside_the_presets_and_no_costs():
    rows = [row("reference", 1, 20.0, 600, 8.0), row("fast", 1, 19.5, 100, 1.0)]
    rows.append({**row("baseline: copy the source", 1, 18.0, 0, 0.0), "baseline": True, "carried": 0.0})
    summary = summarize_speed(rows)
    assert summary["baseline: copy the source"]["psnr_delta"]["all"][0] == pytest.approx(-2.0)
    assert "seconds" not in summary["baseline: copy the source"]
    costs, quality = speed_table(summary).split("\n\n")
    assert "baseline" not in costs
    assert quality.splitlines()[-1].startswith("| baseline: copy the source | -2.00 ± 0.00 |")


def test_speed_bench_compares_presets_on_the_tiny_model(tiny_model, tmp_path, capsys, monkeypatch):
    shorten_reference_preset(monkeypatch)
    args = ["bench", "--speed", "reference", "fast", "--clips", "1", "--edits", "recolor", "--model", str(tiny_model)]
    args += ["--num-frames", "2", "--height", "16", "--width", "16"]
    assert main([*args, "-o", str(tmp_path / "out"), "--quiet", "--cache-dir", str(tmp_path / "cache")]) == 0
    report = json.loads((tmp_path / "out" / "speed.json").read_text())
    reference, fast, *baselines = report["rows"]
    assert [b["preset"] for b in baselines] == list(BASELINES) and all(b["baseline"] for b in baselines)
    assert (reference["preset"], fast["preset"]) == ("reference", "fast")
    assert report["configs"]["reference"]["inversion"]["steps"] == 100
    for run in (reference, fast):
        assert not run["inversion_cache_hit"] and all(run["seconds"][stage] > 0 for stage in STAGES)
    fewer = report["summary"]["fast"]["fewer_batch_items"]
    assert fewer == pytest.approx(reference["unet_batch_items"] / fast["unet_batch_items"])
    assert not (tmp_path / "cache").exists()  # the bench's own cache, not the user's
    table = (tmp_path / "out" / "speed.md").read_text()
    assert report["command"] in table and report["device"] in table and "| fast |" in table
