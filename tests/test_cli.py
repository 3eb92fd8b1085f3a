from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import av
import pytest

from anyv2v.cli import main
from anyv2v.video import write_video
from tests.conftest import moving_square_frames


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    source = write_video(moving_square_frames(count=8), tmp_path / "source.mp4", fps=8)
    edited = tmp_path / "edited.png"
    moving_square_frames(count=1, colour=(40, 220, 40))[0].save(edited)
    return {"source": source, "edited": edited, "out": tmp_path / "out" / "edited.mp4"}


def edit_args(model: Path, inputs: dict[str, Path], tmp_path: Path, *extra: str) -> list[str]:
    return [
        "edit", str(inputs["source"]), "--edited-frame", str(inputs["edited"]), "--prompt", "a green square",
        "-o", str(inputs["out"]), "--model", str(model), "--device", "cpu", "--cache-dir", str(tmp_path / "cache"),
        "--num-frames", "4", "--height", "32", "--width", "32", "--steps", "5", "--inversion-steps", "10", "--quiet",
        *extra,
    ]  # fmt: skip


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_edit_writes_the_video_and_a_preview(tiny_model, inputs, tmp_path):
    assert main(edit_args(tiny_model, inputs, tmp_path)) == 0
    assert frame_count(inputs["out"]) == 4
    assert inputs["out"].with_suffix(".preview.gif").is_file()
    assert sorted(p.name for p in inputs["out"].parent.iterdir()) == ["edited.mp4", "edited.preview.gif"]


def test_invert_fills_the_cache_that_edit_then_uses(tiny_model, inputs, tmp_path, capsys):
    invert = ["invert", str(inputs["source"]), "--model", str(tiny_model), "--cache-dir", str(tmp_path / "cache")]
    sizes = ["--num-frames", "4", "--height", "32", "--width", "32", "--steps", "5", "--inversion-steps", "10"]
    assert main([*invert, *sizes, "--quiet"]) == 0
    assert "inversion cached" in capsys.readouterr().out
    assert main([*invert, *sizes, "--quiet"]) == 0
    assert "inversion already cached" in capsys.readouterr().out
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 1
    assert main(edit_args(tiny_model, inputs, tmp_path, "--preview", str(tmp_path / "strip.png"))) == 0
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 1
    assert (tmp_path / "strip.png").is_file()


def test_config_file_sets_options_and_flags_override_it(tiny_model, inputs, tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("[video]\nnum_frames = 3\nheight = 24\nwidth = 24\n[sampling]\nsteps = 5\n")
    args = edit_args(tiny_model, inputs, tmp_path, "--config", str(config), "--num-frames", "5")
    for flag in ("--height", "--width"):  # let the file decide the size
        del args[args.index(flag) : args.index(flag) + 2]
    assert main(args) == 0
    with av.open(str(inputs["out"])) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 5 and (frames[0].width, frames[0].height) == (24, 24)


def bad_video(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.mp4"
    if kind == "garbage":
        path.write_text("this is not a video")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zero-frame":
        path = path.with_suffix(".mkv")
        with av.open(str(path), "w") as container:
            stream = container.add_stream("mpeg4", rate=8)
            stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
            container.start_encoding()  # writes the header; no frame ever follows
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unreadable video", "cannot read video .*pass a valid video"),
        ("empty video", "is empty"),
        ("zero-frame video", "ends before its first frame"),
        ("folder without frames", "has no image frames"),
        ("missing video", "does not exist"),
        ("too few frames", "only 8 frames at 8 fps, 12 needed"),
        ("unreadable edited frame", "cannot read image"),
        ("missing model folder", "model folder .* not found"),
        ("incomplete model folder", "is incomplete \\(missing vae\\)"),
        ("size not divisible by 8", "height 30 is not a positive multiple of 8"),
        ("unknown option", "unrecognized arguments: --colour"),
        ("unknown config option", "unknown option 'sampling.step'"),
        ("bad output suffix", "must end in .mp4 or .gif"),
        ("mismatched steps", "multiple of 5"),
    ],
)
def test_bad_input_gets_one_line_error_non_zero_exit_and_no_output(tiny_model, inputs, tmp_path, capsys, case, message):
    args = edit_args(tiny_model, inputs, tmp_path)
    if case == "unreadable video":
        args[1] = str(bad_video(tmp_path, "garbage"))
    elif case == "empty video":
        args[1] = str(bad_video(tmp_path, "empty"))
    elif case == "zero-frame video":
        args[1] = str(bad_video(tmp_path, "zero-frame"))
    elif case == "folder without frames":
        (tmp_path / "frames").mkdir()
        args[1] = str(tmp_path / "frames")
    elif case == "missing video":
        args[1] = str(tmp_path / "nowhere.mp4")
    elif case == "too few frames":
        args += ["--num-frames", "12"]
    elif case == "unreadable edited frame":
        (tmp_path / "broken.png").write_text("not an image")
        args[3] = str(tmp_path / "broken.png")
    elif case == "missing model folder":
        args[args.index("--model") + 1] = str(tmp_path / "no-such-model")
    elif case == "incomplete model folder":
        partial = shutil.copytree(tiny_model, tmp_path / "partial-model")
        shutil.rmtree(partial / "vae")
        args[args.index("--model") + 1] = str(partial)
    elif case == "size not divisible by 8":
        args += ["--height", "30"]
    elif case == "unknown option":
        args += ["--colour", "red"]
    elif case == "unknown config option":
        (tmp_path / "bad.yaml").write_text("sampling:\n  step: 10\n")
        args += ["--config", str(tmp_path / "bad.yaml")]
    elif case == "bad output suffix":
        inputs["out"] = inputs["out"].with_suffix(".avi")
        args[args.index("-o") + 1] = str(inputs["out"])
    elif case == "mismatched steps":
        args += ["--inversion-steps", "7"]

    code = run_cli(args)
    error = capsys.readouterr().err.strip()

    assert code != 0
    assert len(error.splitlines()) == 1 and error.startswith("error: ")
    assert re.search(message, error), error
    assert not inputs["out"].parent.exists() or not any(inputs["out"].parent.iterdir())


def run_cli(args: list[str]) -> int:
    """The exit status, whether main returns it or argparse exits with it."""
    try:
        return main(args)
    except SystemExit as exit:
        return exit.code


def test_console_script_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "anyv2v.cli", "edit", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "--edited-frame" in result.stdout and "--temporal-injection" in result.stdout
