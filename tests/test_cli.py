from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from anyv2v.cli import edit as edit_commands
from anyv2v.cli import main
from anyv2v.editors import BUILTIN_EDITORS, Editor
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.video import write_video
from tests.conftest import moving_square_frames
from tests.editors.throwaway_plugin import install_plugin
from tests.editors.tiny_editors import save_tiny_instruct_pix2pix


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
    written = sorted(p.name for p in inputs["out"].parent.iterdir())
    assert written == ["edited.anyv2v.json", "edited.mp4", "edited.preview.gif"]
    record = json.loads(inputs["out"].with_suffix(".anyv2v.json").read_text())
    assert (record["output"], record["prompt"], record["backbone"]) == ("edited.mp4", "a green square", "i2vgen-xl")
    assert (inputs["out"].parent / record["source"]).resolve() == inputs["source"].resolve()  # relative paths
    assert record["config"]["video"]["num_frames"] == 4


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
        ("too few frames", "has only 8 frames from 0 s to 1.5 at 8 fps"),
        ("unreadable edited frame", "cannot read image"),
        ("missing model folder", "model folder .* not found"),
        ("incomplete model folder", "is incomplete \\(missing vae\\)"),
        ("size not divisible by 8", "height 30 is not a multiple of 8, which i2vgen-xl needs: use 32"),
        ("unknown option", "unrecognized arguments: --colour"),
        ("unknown config option", "unknown option 'sampling.step'"),
        ("bad output suffix", "must end in .mp4 or .gif"),
        ("mismatched steps", "does not hold every level .*: use [0-9]+ inversion steps"),
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


def test_running_out_of_gpu_memory_names_the_switches_that_save_it(tiny_model, inputs, tmp_path, capsys, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(AnyV2VPipeline, "edit", out_of_memory)
    assert run_cli(edit_args(tiny_model, inputs, tmp_path)) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "out of GPU memory: add --offload (or --sequential-offload), lower --decode-chunk-size" in error
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


# ------------------------------------------------------------------------------------------ first-frame editors


@pytest.fixture(scope="module")
def tiny_instruct_pix2pix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_instruct_pix2pix(tmp_path_factory.mktemp("editor") / "model")


@pytest.fixture
def square_png(tmp_path: Path) -> Path:
    path = tmp_path / "frame.png"
    moving_square_frames(count=1)[0].save(path)
    return path


def test_editors_lists_each_editor_with_what_it_needs(capsys):
    assert main(["editors"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "INPUTS", "NEEDS", "DESCRIPTION"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == list(BUILTIN_EDITORS)
    assert "weights: timbrooks/instruct-pix2pix" in rows["instruct-pix2pix"]
    assert "extra: anyv2v[opencv]" in rows["opencv-stylize"]
    assert " nothing " in rows["recolor"]


def test_edit_frame_recolors_an_image_source(square_png, tmp_path):
    out = tmp_path / "out" / "frame.png"
    args = ["edit-frame", str(square_png), "--editor", "recolor", "--instruction", "#dc2828 -> green", "-o", str(out)]
    assert main([*args, "--height", "32", "--width", "32", "--quiet"]) == 0
    edited, source = np.asarray(Image.open(out)), np.asarray(Image.open(square_png))
    assert edited.shape == (32, 32, 3)
    assert edited[12, 6].tolist() == [0, 128, 0]  # inside the square
    assert np.array_equal(edited[:10], source[:10])  # above it


def test_edit_frame_takes_a_videos_first_frame_at_the_size_edit_uses(inputs, tmp_path):
    out = tmp_path / "frame.jpg"
    args = ["edit-frame", str(inputs["source"]), "--editor", "stylize", "--instruction", "pencil", "--height", "24",
            "--width", "40", "-o", str(out), "--quiet"]  # fmt: skip
    assert main([*args, "--resize", "crop"]) == 0
    assert Image.open(out).size == (40, 24)  # the configured size, cropped
    assert main(args) == 0
    assert Image.open(out).size == (32, 32)  # fit: the square source's shape with about 24 x 40 pixels


def test_edit_frame_runs_a_diffusers_editor_from_a_local_folder(tiny_instruct_pix2pix, square_png, tmp_path):
    out = tmp_path / "frame.png"
    args = [
        "edit-frame", str(square_png), "--editor", "instruct-pix2pix", "--instruction", "make the square green",
        "--editor-model", str(tiny_instruct_pix2pix), "--editor-option", "steps=2", "--device", "cpu",
        "--height", "32", "--width", "32", "-o", str(out), "--quiet",
    ]  # fmt: skip
    assert main(args) == 0
    assert Image.open(out).size == (32, 32)


def test_edit_with_an_editor_saves_the_frame_and_releases_the_editor_before_the_i2v_model(
    tiny_model, inputs, tmp_path, monkeypatch
):
    events = []
    real_release, real_load = Editor.release, edit_commands.load_pipeline
    monkeypatch.setattr(Editor, "release", lambda self: (events.append("release"), real_release(self))[1])
    monkeypatch.setattr(edit_commands, "load_pipeline", lambda *a: (events.append("load I2V"), real_load(*a))[1])
    args = edit_args(tiny_model, inputs, tmp_path)
    args[2:4] = ["--editor", "recolor", "--instruction", "#dc2828 -> green"]
    assert main(args) == 0
    assert events == ["release", "load I2V"]
    out = inputs["out"]
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == ["edited.anyv2v.json", "edited.frame.png", "edited.mp4", "edited.preview.gif"]
    record = json.loads(out.with_suffix(".anyv2v.json").read_text())
    assert (record["edited_frame"], record["editor"]) == ("edited.frame.png", "recolor")  # the saved edit
    red, green, _ = Image.open(out.with_suffix(".frame.png")).getpixel((8, 12))  # in the square (mp4 colors)
    assert green > 100 and red < 60


def test_a_plugin_editor_is_listed_and_runs(tmp_path, monkeypatch, square_png, capsys):
    install_plugin(tmp_path / "site", monkeypatch, "anyv2v_cli_plugin", {"negative": "anyv2v_cli_plugin:Negative"})
    assert main(["editors"]) == 0
    assert "negative" in capsys.readouterr().out.splitlines()[-1]
    out = tmp_path / "negative.png"
    assert main(["edit-frame", str(square_png), "--editor", "negative", "--height", "32", "--width", "32",
                 "-o", str(out), "--quiet"]) == 0  # fmt: skip
    assert Image.open(out).getpixel((0, 0)) == tuple(255 - v for v in Image.open(square_png).getpixel((0, 0)))
    sys.modules.pop("anyv2v_cli_plugin", None)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown editor", "unknown editor 'pix2pix': use one of frame, recolor, color-transfer"),
        ("missing instruction", "editor 'instruct-pix2pix' needs an instruction: pass --instruction"),
        ("reference not taken", "editor 'recolor' takes 0 reference images, got 1: drop --reference"),
        ("missing extra", r"needs the 'opencv' extra \(missing cv2\): pip install 'anyv2v\[opencv\]'"),
        ("unknown editor option", "editor 'recolor' has no option 'tolerence': its options are tolerance"),
        ("editor option without value", "--editor-option 'tolerance' is not KEY=VALUE"),
        ("bad editor option value", "option tolerance='wide' is not a valid float"),
        ("unreadable reference", "cannot read image"),
        ("missing mask", "image '.*nowhere.png' does not exist"),
        ("no region to recolor", "recolor needs a region"),
        ("missing editor model", "model folder .* not found"),
        ("bad frame suffix", "output '.*frame.mp4' must end in .png or .jpg"),
    ],
)
def test_bad_editor_input_gets_one_line_error_and_no_frame(square_png, tmp_path, capsys, monkeypatch, case, message):
    out = tmp_path / "out" / "frame.png"
    args = ["edit-frame", str(square_png), "--editor", "recolor", "--instruction", "red -> green", "-o", str(out)]
    args += ["--height", "32", "--width", "32", "--device", "cpu", "--quiet"]
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    changes = {
        "unknown editor": ["--editor", "pix2pix"],
        "missing instruction": ["--editor", "instruct-pix2pix", "--instruction", ""],
        "reference not taken": ["--reference", str(square_png)],
        "missing extra": ["--editor", "opencv-stylize", "--instruction", "pencil"],
        "unknown editor option": ["--editor-option", "tolerence=10"],
        "editor option without value": ["--editor-option", "tolerance"],
        "bad editor option value": ["--editor-option", "tolerance=wide"],
        "unreadable reference": ["--editor", "color-transfer", "--instruction", "", "--reference", str(broken)],
        "missing mask": ["--mask", str(tmp_path / "nowhere.png")],
        "no region to recolor": ["--instruction", "green"],
        "missing editor model": ["--editor", "magicbrush", "--editor-model", str(tmp_path / "no-model")],
        "bad frame suffix": ["-o", str(tmp_path / "out" / "frame.mp4")],
    }
    if case == "missing extra":
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util, "find_spec", lambda name, *a: None if name == "cv2" else real_find_spec(name, *a)
        )

    code = run_cli(args + changes[case])
    error = capsys.readouterr().err.strip()

    assert code == 2
    assert len(error.splitlines()) == 1 and error.startswith("error: ")
    assert re.search(message, error), error
    assert not out.parent.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--editor", "recolor", "--instruction", "green"], "recolor needs a region"),
        (["--instruction", "make it green"], "--instruction only apply with --editor"),
        (["--editor", "recolor", "--instruction", "red -> green", "--model", "no-such/model/folder"], "not found"),
        (["--editor", "recolor"], "needs an instruction"),
    ],
)
def test_edit_with_a_bad_editor_setup_writes_nothing(tiny_model, inputs, tmp_path, capsys, change, message):
    args = edit_args(tiny_model, inputs, tmp_path)
    if change[0] == "--editor":
        del args[2:4]  # --editor replaces --edited-frame
    code = run_cli(args + change)
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1 and re.search(message, error), error
    assert not inputs["out"].parent.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["demo", "--clip", "100"], "--clip: 100 is not a held-out clip: use 0-99"),
        (["demo", "--clip", "-1"], "--clip: -1 is not a held-out clip: use 0-99"),
        (["bench", "--clips", "0"], "--clips: 0 clips: use 1-100"),
        (["bench", "--clips", "101"], "--clips: 101 clips: use 1-100"),
    ],
)
def test_held_out_clip_numbers_outside_the_held_out_set_are_refused_before_anything_runs(
    args, message, tmp_path, capsys
):
    assert run_cli([*args, "-o", str(tmp_path / "out.mp4")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_edit_needs_exactly_one_of_edited_frame_and_editor(tiny_model, inputs, tmp_path, capsys):
    args = edit_args(tiny_model, inputs, tmp_path)
    assert run_cli([*args, "--editor", "recolor"]) == 2
    assert "--editor: not allowed with argument --edited-frame" in capsys.readouterr().err
    assert run_cli(args[:2] + args[4:]) == 2
    assert "one of the arguments --edited-frame --editor is required" in capsys.readouterr().err


def test_ctrl_c_prints_one_line_exits_130_and_leaves_no_output(tiny_model, inputs, tmp_path, capsys, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(edit_commands, "load_pipeline", interrupted)
    assert main(edit_args(tiny_model, inputs, tmp_path)) == 130
    assert capsys.readouterr().err.strip() == "interrupted: no output was written"
    assert not inputs["out"].parent.exists()


def test_threads_flag_sets_torchs_threads_and_refuses_zero(tmp_path, square_png, capsys):
    args = ["edit-frame", str(square_png), "--editor", "recolor", "--instruction", "#dc2828 -> green",
            "--height", "32", "--width", "32", "-o", str(tmp_path / "frame.png"), "--quiet"]  # fmt: skip
    assert main([*args, "--threads", "3"]) == 0
    assert torch.get_num_threads() == 3
    assert main([*args, "--threads", "0"]) == 2
    assert "--threads is 0: use 1 or more" in capsys.readouterr().err


def test_the_default_thread_count_leaves_busy_cores_alone(monkeypatch):
    from anyv2v import runtime

    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(runtime.os, "getloadavg", lambda: (0.3, 0.0, 0.0))
    assert runtime.default_threads() == 4  # an idle machine: half the cores
    monkeypatch.setattr(runtime.os, "getloadavg", lambda: (5.2, 0.0, 0.0))
    assert runtime.default_threads() == 3  # what the other programs leave
    monkeypatch.setattr(runtime.os, "getloadavg", lambda: (12.0, 0.0, 0.0))
    assert runtime.default_threads() == 1


def test_the_edit_preview_shows_source_edited_frame_and_result(tiny_model, inputs, tmp_path):
    assert main(edit_args(tiny_model, inputs, tmp_path, "--preview", str(tmp_path / "preview.png"))) == 0
    strip = Image.open(tmp_path / "preview.png")
    assert strip.height == 3 * (160 + 14)  # three rows (source, edited frame, AnyV2V), each enlarged 5x under a label


def test_backbones_lists_default_models_presets_and_injection_kinds(capsys):
    assert main(["backbones"]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert lines[1].startswith("i2vgen-xl ali-vilab/i2vgen-xl reference, fast*, toy conv")
    assert lines[2].startswith("svd stabilityai/stable-video-diffusion-img2vid-xt fast*, fine conv")
    assert "temporal_attention (--temporal-injection: 0.5)" in lines[2]
    assert lines[3] == (
        "wan Wan-AI/Wan2.2-TI2V-5B-Diffusers fast*, fine, 480p, 720p attention (--attention-injection: 0.8); "
        "hidden (--hidden-injection: 0.0)"
    )
    assert "svd options (--backbone-option KEY=VALUE): motion_bucket_id=127, noise_aug_strength=0.02" in lines[-2]
    assert lines[-1] == "wan options (--backbone-option KEY=VALUE): attention_blocks=0%-100%, hidden_blocks=50%"


def test_the_prompt_defaults_to_the_editors_instruction(tiny_model, inputs, tmp_path):
    args = edit_args(tiny_model, inputs, tmp_path, "--no-preview")
    prompt = args.index("--prompt")
    del args[prompt : prompt + 2]
    assert run_cli(args) == 2  # neither a prompt nor an instruction
    args[2:4] = ["--editor", "recolor", "--instruction", "#dc2828 -> green"]
    assert main(args) == 0


def test_the_command_line_parses_before_loading_torch():
    """--help and usage errors answer at once: torch, diffusers and transformers load only for real work."""
    code = (
        "import sys; from anyv2v.cli import build_parser; build_parser(); "
        "print(sorted({'torch', 'diffusers', 'transformers'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_help_texts_name_values_not_config_fields(capsys):
    for command in (["edit", "--help"], ["train-toy", "--help"], ["bench", "--help"]):
        with pytest.raises(SystemExit):
            main(command)
        text = capsys.readouterr().out
        assert not re.search(r"\b(RUNTIME|SAMPLING|VIDEO|INVERSION|INJECTION|VAE)\.", text), command
    assert "(default 4000)" in main_help(["train-toy", "--help"], capsys)  # every option has a help text
    assert "reproducible" in main_help(["edit", "--help"], capsys)


def main_help(command: list[str], capsys) -> str:
    with pytest.raises(SystemExit):
        main(command)
    return capsys.readouterr().out


def test_the_toy_preset_implies_the_toy_model():
    from anyv2v.cli import build_parser
    from anyv2v.cli.options import configs

    _, runtime = configs(build_parser().parse_args(["invert", "clip.mp4", "--preset", "toy"]))
    assert runtime.model == "toy"
    _, runtime = configs(build_parser().parse_args(["invert", "clip.mp4", "--preset", "toy", "--model", "m"]))
    assert runtime.model == "m"


def test_a_prompt_for_a_backbone_without_text_is_refused_before_anything_loads(inputs, tmp_path, capsys):
    args = ["edit", str(inputs["source"]), "--edited-frame", str(inputs["edited"]), "--prompt", "a car",
            "--backbone", "svd", "--model", str(tmp_path / "no-model"), "-o", str(inputs["out"])]  # fmt: skip
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == "error: svd takes no text, so a prompt cannot steer it: drop --prompt"


def test_a_long_landscape_clip_is_edited_whole_in_its_shape_with_its_sound(tiny_model, inputs, tmp_path):
    from tests.video.test_audio import write_source

    source = write_source(tmp_path / "talk.mp4", "mp4", "aac")  # 2 s of 64x48 at 24 fps, with a tone
    args = edit_args(tiny_model, {**inputs, "source": source}, tmp_path, "--frames", "7", "--start", "0.5")
    assert main(args) == 0  # windows of 4 frames: 0-3, 3-6 (overlap 1)
    out = inputs["out"]
    with av.open(str(out)) as container:
        frames = list(container.decode(video=0))
        assert (len(frames), frames[0].height, frames[0].width) == (7, 24, 40)  # 48x64's shape, 32x32's pixels
        audio = container.streams.audio[0]
        assert abs(float(audio.duration * audio.time_base) - 7 / 8) < 1 / 8  # the edited span's sound
    assert not out.with_name(out.name + ".windows").exists()  # the finished windows are cleared
    assert main([*args, "--output-size", "source", "--no-audio"]) == 0
    with av.open(str(out)) as container:
        assert not container.streams.audio
        frame = next(container.decode(video=0))
        assert (frame.height, frame.width) == (48, 64)


def test_a_span_shorter_than_a_window_is_one_short_window(tiny_model, inputs, tmp_path):
    assert main(edit_args(tiny_model, inputs, tmp_path, "--frames", "3")) == 0
    assert frame_count(inputs["out"]) == 3
    record = json.loads(inputs["out"].with_suffix(".anyv2v.json").read_text())
    assert record["config"]["video"]["num_frames"] == 3


@pytest.mark.parametrize(
    ("span", "message"),
    [(["--start", "-1"], "empty or negative"), (["--start", "1", "--end", "0.5"], "empty or negative"),
     (["--start", "5"], "has no frame from 5 s"), (["--frames", "all", "--overlap", "4"], "overlap is 4")],
)  # fmt: skip
def test_a_bad_span_is_a_one_line_error_and_leaves_no_output(tiny_model, inputs, tmp_path, capsys, span, message):
    assert main(edit_args(tiny_model, inputs, tmp_path, *span)) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not inputs["out"].parent.exists() or not any(inputs["out"].parent.iterdir())
