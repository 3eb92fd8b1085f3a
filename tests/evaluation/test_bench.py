from __future__ import annotations

import json

import numpy as np
import pytest

from anyv2v.cli import main
from anyv2v.evaluation.bench import BASELINES, paste_first_frame_edit


def test_one_clip_bench_on_the_shipped_model_writes_baselines_table_and_json(tmp_path):
    variants = ["full AnyV2V", "conv at every decoder ResNet, 0.5", "full AnyV2V, first frame given"]
    # fewer steps than the preset's: what is tested is the table, not the model
    args = ["bench", "--clips", "1", "--edits", "recolor", "--variants", *variants, "-o", str(tmp_path / "out"),
            "--steps", "5", "--inversion-steps", "10"]  # fmt: skip
    assert main([*args, "--quiet", "--cache-dir", str(tmp_path / "cache")]) == 0
    report = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert [row["variant"] for row in report["rows"]] == [*BASELINES, *variants]
    assert list(report["summary"]) == [*BASELINES, *variants]
    rows = {row["variant"]: row for row in report["rows"]}
    copy, paste = rows["baseline: copy the source"], rows["baseline: paste the first frame's edit"]
    assert copy["carried"] == 0 and copy["carried_first"] == 0
    assert paste["carried_first"] == 1  # frame 0 of the pasted edit is the edited frame itself
    for variant in variants:
        assert report["summary"][variant]["recolor"]["psnr"][0] > 10
        assert -1 < rows[variant]["carried"] <= 1 and -1 < rows[variant]["carried_first"] <= 1
    table = (tmp_path / "out" / "bench.md").read_text()
    assert "| full AnyV2V |" in table and "| baseline: copy the source |" in table and report["command"] in table
    assert "**carried, frame 0**" in table and "| variant | recolor | all |" in table
    assert report["backbone"] == "i2vgen-xl" and report["world"] == "objects-0.15-0.3"
    plain, full, every_resnet, given = (rows[v] for v in [BASELINES[-1], *variants])
    assert full["unet_batch_items"] > plain["unet_batch_items"]  # inversion and the source branch cost calls
    assert every_resnet["psnr"] != full["psnr"]  # nine conv sites instead of one, on more steps
    assert given["carried_first"] > 0.95  # frame 0 is the edited frame's latent, decoded


def test_pasting_the_first_frames_edit_adds_its_difference_to_every_frame_within_range():
    source = np.array([[[[10, 20, 250]]], [[[30, 40, 240]]]], dtype=np.uint8)
    edited_first = np.array([[[15, 0, 255]]], dtype=np.uint8)
    pasted = paste_first_frame_edit(source, edited_first)
    assert pasted[0].tolist() == edited_first.tolist()
    assert pasted[1, 0, 0].tolist() == [35, 20, 245]
    with pytest.raises(ValueError):
        paste_first_frame_edit(source, edited_first[:, :, :2])


def test_agreement_is_the_rank_correlation_of_a_weight_free_metric_with_psnr():
    from anyv2v.evaluation.bench import agreement_table

    def scored(psnr: float, motion: float, warp: float) -> dict:
        return {"all": {"psnr": [psnr, 0.0], "motion_error": [motion, 0.0], "warp_error": [warp, 0.0]}}

    summary = {"a": scored(30, 0.1, 0.3), "b": scored(25, 0.2, 0.2), "c": scored(20, 0.3, 0.1)}
    motion, warp = agreement_table(summary).splitlines()[2:]
    assert motion.endswith("| +1.00 |") and warp.endswith("| -1.00 |")  # same order; the reverse


def test_a_model_is_benched_on_the_world_its_folder_names(tmp_path):
    from anyv2v.config import EditConfig, VideoConfig
    from anyv2v.evaluation.bench import edit_synthetic_clip
    from anyv2v.toy.world import HELDOUT_SEEDS, World, clip_pair

    class Pipe:  # records what the bench hands the model; the model itself is not under test
        model_id = str(tmp_path)

        def edit(self, frames, edited_frame, prompt, *, config, generator, output_type):
            return np.zeros((len(frames), 32, 32, 3))

    larger = World((0.15, 0.3))
    larger.save(tmp_path)
    config = EditConfig(video=VideoConfig(num_frames=4, fps=8.0, height=32, width=32))
    _, source, truth = edit_synthetic_clip(Pipe(), config, HELDOUT_SEEDS[0], "recolor", seed=0)
    expected = clip_pair(HELDOUT_SEEDS[0], "recolor", size=32, num_frames=4, world=larger)
    assert (source == expected[0]).all() and (truth == expected[1]).all()
    assert (source != clip_pair(HELDOUT_SEEDS[0], "recolor", size=32, num_frames=4)[0]).any()


def fake_report(psnr_by_variant: dict[str, float], clips=(1_000_000,), world="objects-0.15-0.3") -> dict:
    """A bench report whose every row of a variant scores the same: what the side-by-side reads."""
    from anyv2v.evaluation.bench import METRICS, summarize

    rows = [
        {"variant": variant, "edit": "recolor", "clip": clip, **dict.fromkeys(METRICS, 0.5), "psnr": value}
        for variant, value in psnr_by_variant.items()
        for clip in clips
    ]
    return {"command": "anyv2v bench", "world": world, "summary": summarize(rows), "rows": rows}


def test_side_by_side_puts_backbones_reports_in_one_table_with_margins_over_their_best_baseline(tmp_path, capsys):
    scores = {"a": [20.0, 23.0, 15.0, 25.5], "b": [21.0, 22.0, 14.0, 21.5]}  # copy, paste, plain I2V, full
    args = ["bench", "-o", str(tmp_path / "out"), "--side-by-side"]
    for label, values in scores.items():
        (tmp_path / label).mkdir()
        report = fake_report(dict(zip([*BASELINES, "full AnyV2V"], values, strict=True)))
        (tmp_path / label / "bench.json").write_text(json.dumps(report))
        args.append(f"{label}={tmp_path / label}")
    assert main(args) == 0
    table = (tmp_path / "out" / "side-by-side.md").read_text()
    assert "| a | full AnyV2V | 25.50 ± 0.00 | 25.50 ± 0.00 |" in table
    assert "| b | baseline: paste the first frame's edit | 22.00 ± 0.00 | 22.00 ± 0.00 |" in table
    margins = table.split("best trivial baseline")[1]
    assert "| a | full AnyV2V | +2.50 | +2.50 |" in margins and "| b | full AnyV2V | -0.50 | -0.50 |" in margins
    assert "| a | baseline: plain I2V from the edited frame | -8.00 | -8.00 |" in margins
    assert "copy the source" not in margins


def test_side_by_side_refuses_reports_of_other_clips_or_worlds_and_missing_ones_in_one_line(tmp_path, capsys):
    variants = dict.fromkeys([*BASELINES, "full AnyV2V"], 20.0)
    reports = {"a": fake_report(variants), "b": fake_report(variants, clips=(1_000_001,)),
               "c": fake_report(variants, world="objects-0.1-0.2")}  # fmt: skip
    for label, report in reports.items():
        (tmp_path / label).mkdir()
        (tmp_path / label / "bench.json").write_text(json.dumps(report))
    output = ["-o", str(tmp_path / "out")]
    for other in ("b", "c"):
        assert main(["bench", *output, "--side-by-side", f"a={tmp_path / 'a'}", f"{other}={tmp_path / other}"]) != 0
        assert capsys.readouterr().err.strip() == (
            f"error: the bench reports a and {other} scored different clips, edits or worlds: rerun both with the "
            "same --clips and --edits on models of the same world"
        )
    assert main(["bench", *output, "--side-by-side", f"a={tmp_path / 'a'}", f"d={tmp_path / 'd'}"]) != 0
    assert f"error: --side-by-side d: no {tmp_path / 'd' / 'bench.json'}; run" in capsys.readouterr().err
    assert main(["bench", *output, "--side-by-side", str(tmp_path / "a")]) != 0
    assert f"error: --side-by-side '{tmp_path / 'a'}' is not LABEL=FOLDER: e.g. svd=" in capsys.readouterr().err
    assert (
        main(["bench", *output, "--side-by-side", f"a={tmp_path / 'a'}", "--variants", "noise start, injection"]) != 0
    )
    assert "the bench report a has no variant 'noise start, injection'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_wans_sweep_runs_each_kind_alone_on_blocks_given_as_shares_of_the_depth():
    from anyv2v.backbones.wan import Wan, blocks
    from anyv2v.evaluation.bench import variants

    sweep = {name: variant for name, variant in variants(Wan).items() if " only, " in name}
    assert len(sweep) == 12 + 6
    config = sweep["attention only, blocks 0%-50%, 0.8"](Wan.preset())
    assert config.injection.fractions == {"attention": 0.8, "hidden": 0.0}
    assert config.backbone["attention_blocks"] == "0%-50%"
    Wan.check(config)  # every swept block range is one the backbone reads
    hidden = sweep["hidden only, block 75%, 0.2"](Wan.preset())
    assert hidden.injection.fractions == {"hidden": 0.2, "attention": 0.0}
    assert blocks(hidden.backbone["hidden_blocks"], 4, "hidden_blocks") == [3]  # the toy's 4 blocks
    for variant in sweep.values():
        Wan.check(variant(Wan.preset()))
