from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anyv2v.cli import main
from anyv2v.evaluation.evaluate import COPY_SOURCE, OUTPUT, PASTE_EDIT, EvalInputs, Scorers, evaluate
from anyv2v.evaluation.metrics import psnr
from anyv2v.toy.world import clip_pair
from tests.evaluation.test_embeddings import save_tiny_clip, save_tiny_dino
from tests.test_cli import edit_args
from tests.test_cli import inputs as inputs  # noqa: F401 (a fixture)

WEIGHT_FREE = Scorers(motion=True)


def save_frames(video: np.ndarray, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, frame in enumerate(video):
        Image.fromarray(frame).save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture
def world(tmp_path: Path) -> dict:
    """A synthetic clip and its exactly edited version, as lossless frame folders, plus the edited frame."""
    source, truth = clip_pair(3, "recolor")
    Image.fromarray(truth[0]).save(tmp_path / "edited.png")
    changed = np.abs(source.astype(int) - truth.astype(int)).max(axis=(0, -1)) > 8
    Image.fromarray((changed * 255).astype(np.uint8)).save(tmp_path / "mask.png")
    return {
        "source": source, "truth": truth, "source_dir": save_frames(source, tmp_path / "source"),
        "truth_dir": save_frames(truth, tmp_path / "truth"), "edited": tmp_path / "edited.png",
        "mask": tmp_path / "mask.png",
    }  # fmt: skip


def test_doing_nothing_scores_as_the_copy_baseline_and_the_truth_scores_better(world):
    inputs = EvalInputs(world["source_dir"], world["source_dir"], world["edited"], None, world["mask"])
    copied = evaluate(inputs, WEIGHT_FREE)["scores"]
    assert set(copied) == {OUTPUT, COPY_SOURCE, PASTE_EDIT}
    assert copied[OUTPUT] == copied[COPY_SOURCE]  # the source returned unchanged is the copy baseline
    metrics = copied[OUTPUT]["metrics"]
    assert metrics["motion error vs source (px)"] == 0 and metrics["unedited region PSNR"] == float("inf")
    assert metrics["frame 0 PSNR"] == pytest.approx(psnr(world["source"][:1], world["truth"][:1]))
    assert len(copied[OUTPUT]["curves"]["warp error"]) == len(world["source"]) - 1

    truth = evaluate(EvalInputs(world["truth_dir"], world["source_dir"], world["edited"], None, world["mask"]),
                     WEIGHT_FREE)["scores"][OUTPUT]["metrics"]  # fmt: skip
    assert truth["frame 0 PSNR"] == float("inf") and truth["frame 0 SSIM"] == pytest.approx(1.0)
    assert truth["unedited region PSNR"] > 40  # the true edit leaves the rest alone
    assert truth["motion error vs source (px)"] < 0.5  # and moves as the source does


def test_a_shuffled_output_moves_unlike_its_source(world, tmp_path):
    shuffled = save_frames(world["truth"][[0, 5, 2, 7, 1, 6, 3, 4]], tmp_path / "shuffled")
    scores = [
        evaluate(EvalInputs(video, world["source_dir"]), WEIGHT_FREE)["scores"][OUTPUT]["metrics"]
        for video in (world["truth_dir"], shuffled)
    ]
    assert scores[1]["motion error vs source (px)"] > scores[0]["motion error vs source (px)"] + 0.5
    assert scores[1]["warp error"] > scores[0]["warp error"]


def test_eval_of_a_folder_of_edits_reads_their_sidecars(tiny_model, inputs, tmp_path, capsys):  # noqa: F811
    assert main(edit_args(tiny_model, inputs, tmp_path)) == 0
    report = tmp_path / "report"
    assert main(["eval", str(inputs["out"].parent), "--no-models", "-o", str(report)]) == 0
    result = json.loads((report / "eval.json").read_text())
    (video,) = result["videos"]
    assert video["inputs"]["prompt"] == "a green square" and video["frames"] == 4
    assert set(video["scores"]) == {OUTPUT, COPY_SOURCE, PASTE_EDIT}
    assert "frame 0 PSNR" in result["summary"][OUTPUT]
    assert "| AnyV2V output |" in (report / "eval.md").read_text()
    with Image.open(report / "edited.curves.png") as plot:
        assert plot.width > 300 and plot.height > 200


def test_model_metrics_load_clip_and_dinov2_from_folders_as_users_pass_them(world, tmp_path, capsys):
    models = [
        "--clip-model",
        str(save_tiny_clip(tmp_path / "clip")),
        "--dino-model",
        str(save_tiny_dino(tmp_path / "dino")),
    ]
    args = [str(world["truth_dir"]), "--source", str(world["source_dir"]), "--edited-frame", str(world["edited"])]
    assert main(["eval", *args, "--prompt", "a pink square", *models, "-o", str(tmp_path / "report")]) == 0
    (video,) = json.loads((tmp_path / "report" / "eval.json").read_text())["videos"]
    output, copied = video["scores"][OUTPUT], video["scores"][COPY_SOURCE]
    assert len(output["curves"]["CLIP-Text"]) == 8 and len(output["curves"]["CLIP-Image"]) == 7
    assert len(output["curves"]["DINO subject consistency"]) == 7
    assert output["metrics"]["frame 0 CLIP similarity"] == pytest.approx(1.0, abs=1e-5)  # frame 0 is the edit
    assert output["metrics"]["frame 0 DINO similarity"] == pytest.approx(1.0, abs=1e-5)
    assert copied["metrics"]["frame 0 CLIP similarity"] < 1.0


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing video", "does not exist"),
        ("empty folder", "no '*.anyv2v.json' files"),
        ("source too short", "has fewer frames than the output's 8"),
        ("flags with a folder", "are for one video"),
    ],
)
def test_bad_input_gets_one_line_error_and_no_report(world, tmp_path, capsys, case, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.anyv2v.json").write_text('{"output": "a.mp4"}')
    short = save_frames(world["source"][:3], tmp_path / "short")
    args = {
        "missing video": [str(tmp_path / "nope.mp4")],
        "empty folder": [str(tmp_path / "empty")],
        "source too short": [str(world["truth_dir"]), "--source", str(short)],
        "flags with a folder": [str(tmp_path / "runs"), "--prompt", "x"],
    }[case]
    assert main(["eval", *args, "--no-models", "-o", str(tmp_path / "report")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "report").exists()


def test_the_source_is_sized_as_the_sidecar_says_the_edit_sized_it(world, tmp_path):
    from anyv2v.video.resize import resize_frame

    padded = np.stack([np.asarray(resize_frame(Image.fromarray(f), (32, 48), "pad")) for f in world["source"]])
    output = save_frames(padded, tmp_path / "out")
    record = {"output": "out", "source": "source", "edited_frame": "edited.png", "config": {"video": {"resize": "pad"}}}
    (tmp_path / "out.anyv2v.json").write_text(json.dumps(record))
    inputs = EvalInputs.from_sidecar(output)
    assert inputs.resize == "pad" and inputs.source == world["source_dir"]
    scores = evaluate(inputs, WEIGHT_FREE)["scores"]
    assert scores[OUTPUT] == scores[COPY_SOURCE]  # the letterboxed source, aligned as the edit made it
