from __future__ import annotations

import re

import av

from anyv2v.cli import main


def test_demo_runs_offline_on_the_shipped_model_and_scores_against_truth(tmp_path, capsys):
    output = tmp_path / "demo.mp4"
    args = ["demo", "--edit", "recolor", "-o", str(output), "--quiet", "--cache-dir", str(tmp_path)]
    assert main([*args, "--steps", "10", "--inversion-steps", "20"]) == 0  # the outputs and scores, not the steps
    printed = capsys.readouterr().out
    with av.open(str(output)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 8 and (frames[0].width, frames[0].height) == (32, 32)
    assert output.with_suffix(".preview.gif").is_file() and output.with_suffix(".preview.png").is_file()
    scores = re.search(r"PSNR ([\d.]+) dB \(the unedited source: ([\d.]+) dB\), SSIM ([\d.]+); "
                       r"edit carried: (-?[\d.]+) in frame 0, (-?[\d.]+) after", printed)  # fmt: skip
    assert scores, printed
    psnr, source_psnr, ssim, carried_first, carried = map(float, scores.groups())
    assert psnr > 15 and source_psnr > 15 and 0 < ssim <= 1 and -1 < carried_first <= 1 and -1 < carried <= 1


def test_demo_runs_the_shipped_wan_at_its_own_frame_count_and_size(tmp_path, capsys):
    output = tmp_path / "demo.mp4"
    assert main(["demo", "--backbone", "wan", "-o", str(output), "--quiet", "--no-cache"]) == 0
    with av.open(str(output)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 9 and (frames[0].width, frames[0].height) == (64, 64)
    assert "edit carried:" in capsys.readouterr().out


def test_demo_edits_a_users_clip_without_ground_truth(tmp_path, capsys):
    from anyv2v.toy.world import clip_pair, to_images
    from anyv2v.video import write_video

    clip = write_video(to_images(clip_pair(5, "recolor", size=32)[0]), tmp_path / "mine.mp4", fps=8)
    output = tmp_path / "edited.gif"
    args = ["demo", "--video", str(clip), "-o", str(output), "--quiet", "--no-cache", "--steps", "5",
            "--inversion-steps", "10"]  # fmt: skip
    assert main(args) == 0
    assert output.is_file() and "PSNR" not in capsys.readouterr().out


def test_a_backbone_whose_toy_does_not_ship_is_told_so_without_a_model(tmp_path, capsys, monkeypatch):
    from anyv2v.backbones.wan import Wan
    from anyv2v.toy import shipped

    monkeypatch.setattr(shipped, "SHIPPED_MODELS", tmp_path / "shipped")
    (tmp_path / "shipped" / "i2vgen-xl").mkdir(parents=True)
    (tmp_path / "shipped" / "i2vgen-xl" / "model_index.json").write_text("{}")
    run = tmp_path / "run"
    run.mkdir()
    assert main(["demo", "--backbone", "svd", "-o", str(run / "out.mp4")]) != 0
    assert capsys.readouterr().err.strip() == (
        "error: no toy svd model ships (toys ship for i2vgen-xl): pass --model FOLDER, one that "
        "`anyv2v train-toy --backbone svd` saved"
    )
    monkeypatch.setattr(Wan, "toy_settings", None)  # a backbone whose toy is not designed yet
    assert main(["demo", "--backbone", "wan", "--model", str(run), "-o", str(run / "out.mp4")]) != 0
    assert capsys.readouterr().err.strip() == (
        "error: no toy model is designed for backbone wan yet: demo and bench run toy models of i2vgen-xl or svd"
    )
    assert list(run.iterdir()) == []
