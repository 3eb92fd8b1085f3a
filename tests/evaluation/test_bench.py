from __future__ import annotations

import json

from anyv2v.cli import main


def test_one_clip_bench_on_the_shipped_model_writes_table_and_json(tmp_path, capsys):
    variants = ["full AnyV2V", "noise start, no injection", "conv at every decoder ResNet, 0.5"]
    args = ["bench", "--clips", "1", "--edits", "recolor", "--variants", *variants, "-o", str(tmp_path / "out")]
    assert main([*args, "--quiet", "--cache-dir", str(tmp_path / "cache")]) == 0
    report = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert [row["variant"] for row in report["rows"]] == variants
    assert set(report["summary"]) == set(variants)
    for variant in variants:
        assert report["summary"][variant]["recolor"]["psnr"][0] > 10
    table = (tmp_path / "out" / "bench.md").read_text()
    assert "| full AnyV2V |" in table and "PSNR recolor" in table and report["command"] in table
    full, noise, every_resnet = report["rows"]
    assert full["unet_batch_items"] > noise["unet_batch_items"]  # inversion and the source branch cost calls
    assert every_resnet["psnr"] != full["psnr"]  # nine conv sites instead of one, on more steps
