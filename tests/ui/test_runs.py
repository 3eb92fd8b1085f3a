"""The web app's steps without the page (anyv2v/ui/runs.py), on the shipped toy model."""

from __future__ import annotations

import json
import shlex
import shutil
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from anyv2v.backbones import BACKBONES
from anyv2v.cli import main
from anyv2v.errors import AnyV2VError
from anyv2v.ui.runs import (
    INJECTION_FLAGS,
    AppSettings,
    Choices,
    EditorRequest,
    RunCancelled,
    Runner,
    advanced_flags,
    earlier_runs,
    edited_from_file,
    first_frame,
    for_painting,
    inspect_video,
)
from anyv2v.video import write_video
from tests.ui.conftest import QUICK_INVERSION_STEPS, QUICK_STEPS

FEWER_STEPS = (("--steps", str(QUICK_STEPS)), ("--inversion-steps", str(QUICK_INVERSION_STEPS)))
QUICK = Choices(model="toy", preset="toy", overrides=FEWER_STEPS)


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def test_choices_and_editor_requests_are_the_clis_flags():
    choices = Choices(backbone="svd", start=1.5, end=3, frames="all", resize="pad", seed=7, overrides=(("--eta", "0"),))
    assert choices.flags() == ["--backbone", "svd", "--start", "1.5", "--end", "3", "--frames", "all", "--resize",
                               "pad", "--seed", "7", "--eta", "0"]  # fmt: skip
    request = EditorRequest("recolor", "-> red", ("ref.png",), "mask.png", None, ("tolerance=20",))
    assert request.flags() == ["--editor", "recolor", "--instruction=-> red", "--mask", "mask.png", "--reference",
                               "ref.png", "--editor-option", "tolerance=20"]  # fmt: skip


def test_advanced_settings_become_flags_only_where_they_leave_the_preset():
    assert advanced_flags("i2vgen-xl", "toy", [25, 50, 3.0], {"conv": 0.2, "temporal_attention": 0.5}) == ()
    assert advanced_flags("i2vgen-xl", "toy", [4, None, 3.0], {"conv": 0.0}) == (
        ("--steps", "4"), ("--conv-injection", "0"))  # fmt: skip
    every_kind = {kind for backbone in BACKBONES.values() for kind in backbone.injection_kinds}
    assert set(INJECTION_FLAGS) == every_kind  # a slider for each kind of each backbone
    wan_kind = next(kind for kind in BACKBONES["wan"].injection_kinds if kind not in BACKBONES["svd"].injection_kinds)
    assert advanced_flags("wan", None, [None] * 3, {wan_kind: 0.95}) == ((INJECTION_FLAGS[wan_kind], "0.95"),)
    with pytest.raises(AnyV2VError, match=f"backbone svd has no injection kind {wan_kind}: its kinds are conv"):
        advanced_flags("svd", None, [None] * 3, {wan_kind: 0.1})


def test_a_run_writes_one_whole_folder_whose_command_repeats_it(examples, tmp_path, monkeypatch):
    runner = Runner(AppSettings(tmp_path / "runs", model="toy"))
    example = examples[0]
    files = runner.run(str(example.video), str(example.edited_frame), "", QUICK)
    assert sorted(path.name for path in files.folder.iterdir()) == [
        "edited.anyv2v.json", "edited.mp4", "frame.png", "preview.mp4", "source.mp4"]  # fmt: skip
    assert [path.name for path in (tmp_path / "runs").iterdir() if path.name != files.folder.name] == []
    video = decoded(files.video)
    assert video.shape == (8, 32, 32, 3)  # one window of the toy preset
    assert decoded(files.preview).shape[0] == 8
    record = files.record()
    assert record["command"] == (
        "anyv2v edit source.mp4 --edited-frame frame.png --prompt '' -o edited.mp4 --preview preview.mp4 "
        "--backbone i2vgen-xl --model toy --preset toy --seed 0 --steps 4 --inversion-steps 8"
    )
    assert (record["source"], record["edited_frame"], record["seed"]) == ("source.mp4", "frame.png", 0)

    again = tmp_path / "again"  # the command, run by hand inside a copy of the folder, makes the same video
    again.mkdir()
    for name in ("source.mp4", "frame.png"):
        shutil.copy(files.folder / name, again / name)
    monkeypatch.chdir(again)
    assert main([*shlex.split(record["command"])[1:], "--quiet"]) == 0
    assert np.array_equal(decoded(again / "edited.mp4"), video)
    assert json.loads((again / "edited.anyv2v.json").read_text())["config"] == record["config"]


def test_the_same_seed_gives_the_same_video_and_another_seed_another(examples, tmp_path):
    runner = Runner(AppSettings(tmp_path, model="toy"))
    source, frame = str(examples[1].video), str(examples[1].edited_frame)
    fresh_noise = (("--eta", "1"), *FEWER_STEPS)  # fresh noise in every step: the seed shapes the video
    first, second, third = (
        runner.run(source, frame, "", Choices(model="toy", preset="toy", seed=seed, overrides=fresh_noise))
        for seed in (3, 3, 4)
    )
    assert first.video.read_bytes() == second.video.read_bytes()
    assert np.abs(decoded(first.video).astype(int) - decoded(third.video)).mean() > 1
    assert [files.folder for files in earlier_runs(tmp_path)] == sorted([first.folder, second.folder,
                                                                          third.folder], reverse=True)  # fmt: skip


def test_a_cancelled_run_stops_at_its_next_step_and_writes_nothing(examples, tmp_path):
    runner = Runner(AppSettings(tmp_path, model="toy"))
    steps = []

    def progress(items, description):
        for item in items:
            steps.append(description)
            runner.cancel("visitor")  # as the page's Cancel button does, from another thread
            yield item

    with pytest.raises(RunCancelled, match="no output was written"):
        runner.run(
            str(examples[0].video), str(examples[0].edited_frame), "", QUICK, session="visitor", progress=progress
        )
    assert steps == ["inversion"]
    assert list(tmp_path.iterdir()) == []
    assert not runner.device_lock.locked() and not runner.cancel("visitor")


def test_runs_take_turns_on_the_device(examples, tmp_path):
    runner = Runner(AppSettings(tmp_path, model="toy"))
    running = threading.Event()

    def progress(items, description):
        running.set()
        yield from items

    later = threading.Thread(target=runner.run, args=(str(examples[0].video), str(examples[0].edited_frame), "",
                                                      QUICK), kwargs={"progress": progress})  # fmt: skip
    with runner.device_lock:  # a run (or an editor) holds the device
        later.start()
        assert not running.wait(2)
    later.join(120)
    assert running.is_set() and len(earlier_runs(tmp_path)) == 1


def test_the_first_frame_is_the_spans_and_an_editor_edits_it(examples, tmp_path):
    clip = str(examples[0].video)
    first = first_frame(clip, QUICK)
    assert (first.original.size, first.sized.size) == ((96, 96), (32, 32))
    later = first_frame(clip, Choices(model="toy", preset="toy", start=1.0))
    assert np.abs(np.asarray(later.original, int) - np.asarray(first.original)).mean() > 1
    runner = Runner(AppSettings(tmp_path, model="toy"))
    edited = runner.edit_frame(first.sized, EditorRequest("stylize", "posterize", options=("colors=2",)), QUICK)
    assert edited.size == (32, 32) and len(edited.getcolors()) <= 2


def test_an_uploaded_or_painted_frame_is_sized_as_the_edit_takes_it(examples):
    first = first_frame(str(examples[0].video), QUICK)
    assert edited_from_file(str(examples[0].edited_frame), first).size == (32, 32)
    canvas = first.canvas()
    assert canvas.size == (384, 384)  # enlarged 12 times, pixel for pixel
    assert canvas.getpixel((12 * 5 + 11, 12 * 7)) == first.sized.getpixel((5, 7))
    assert np.array_equal(np.asarray(first.from_canvas(canvas)), np.asarray(first.sized))  # unpainted: unchanged
    assert for_painting(Image.new("RGB", (500, 400))).size == (500, 400)  # large frames are painted as they are
    canvas.paste((0, 0, 255), (0, 0, 120, 120))
    painted = np.asarray(first.from_canvas(canvas))
    assert (painted[:10, :10] == (0, 0, 255)).all() and np.array_equal(painted[10:], np.asarray(first.sized)[10:])


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"not a video at all", "cannot read 'upload.mp4' as a video"),
     ("png", "a single picture, not a video"), ("long", "12 s long and this app takes up to 10 s")],
)  # fmt: skip
def test_a_bad_upload_is_refused_in_one_line(tmp_path, content, message):
    upload = tmp_path / "upload.mp4"
    if content == "png":
        Image.new("RGB", (8, 8)).save(upload, format="PNG")
    elif content == "long":
        write_video([Image.new("RGB", (16, 16), (i, i, i)) for i in range(24)], upload, fps=2)
    else:
        upload.write_bytes(content)
    with pytest.raises(AnyV2VError, match=message) as error:
        inspect_video(str(upload), max_seconds=10)
    assert "\n" not in str(error.value)


def test_a_run_needs_its_inputs(examples, tmp_path):
    runner = Runner(AppSettings(tmp_path, model="toy"))
    with pytest.raises(AnyV2VError, match="no edited first frame yet"):
        runner.run(str(examples[0].video), None, "", QUICK)
    with pytest.raises(AnyV2VError, match="has no frame from 5 s"):
        first_frame(str(examples[0].video), Choices(model="toy", preset="toy", start=5))
    with pytest.raises(AnyV2VError, match="argument --frames"):
        runner.run(str(examples[0].video), str(examples[0].edited_frame), "", Choices(frames="most"))
    assert list(tmp_path.iterdir()) == []
