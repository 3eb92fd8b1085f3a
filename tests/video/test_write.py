"""anyv2v.video.write: round trips, encoder fallbacks, and atomic writes."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import pytest
import torch
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.toy.world import random_scene, render, to_images
from anyv2v.video import read_video, write_preview, write_video
from anyv2v.video import write as video_write
from tests.video.clips import HEIGHT, SIZE, WIDTH, assert_close, colour_of, solid_frames


def test_mp4_round_trip_keeps_count_size_and_colours(tmp_path: Path) -> None:
    out = write_video(solid_frames(10), tmp_path / "nested" / "out.mp4", fps=8)
    assert out == tmp_path / "nested" / "out.mp4"
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name in {"h264", "mpeg4"}
        assert (stream.width, stream.height) == (WIDTH, HEIGHT)
        assert sum(1 for _ in container.decode(stream)) == 10
    frames = read_video(out, num_frames=10, fps=8, size=SIZE)
    for index, frame in enumerate(frames):
        assert_close(frame.getpixel((WIDTH // 2, HEIGHT // 2)), colour_of(index), 8)


def test_mp4_bytes_repeat_while_the_cpu_is_busy(tmp_path: Path) -> None:
    """Same frames, same file: with x264's default rate control the bytes changed from write to write under
    load (ten different files in forty writes of a clip like this one), which made whole edits unrepeatable."""
    frames = to_images(render(random_scene(3, size=96, num_frames=16)))
    busy = threading.Event()

    def keep_the_cpu_busy() -> None:
        matrix = torch.randn(256, 256)
        while not busy.is_set():
            matrix = (matrix @ matrix).tanh()

    worker = threading.Thread(target=keep_the_cpu_busy)
    worker.start()
    try:
        written = {write_video(frames, tmp_path / "again.mp4", fps=8).read_bytes() for _ in range(20)}
    finally:
        busy.set()
        worker.join()
    assert len(written) == 1


def test_mp4_pads_odd_sizes_to_even(tmp_path: Path) -> None:
    out = write_video(solid_frames(3, size=(63, 47)), tmp_path / "odd.mp4", fps=8)
    with av.open(str(out)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (64, 48)


def test_mp4_falls_back_to_another_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video_write, "_MP4_ENCODERS", ("no-such-encoder", "mpeg4"))
    out = write_video(solid_frames(4), tmp_path / "out.mp4", fps=8)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
        assert sum(1 for _ in container.decode(video=0)) == 4


def test_mp4_without_any_encoder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video_write, "_MP4_ENCODERS", ("no-such-encoder",))
    with pytest.raises(AnyV2VError, match="none of the encoders"):
        write_video(solid_frames(2), tmp_path / "out.mp4", fps=8)
    assert list(tmp_path.iterdir()) == []


def test_gif_round_trip_keeps_count_size_timing_and_loop(tmp_path: Path) -> None:
    out = write_video(solid_frames(10), tmp_path / "out.gif", fps=10)
    with Image.open(out) as gif:
        assert (gif.n_frames, gif.size) == (10, (WIDTH, HEIGHT))
        assert gif.info["loop"] == 0
        assert gif.info["duration"] == 100
        gif.seek(7)
        assert_close(gif.convert("RGB").getpixel((5, 5)), colour_of(7), 8)


@pytest.mark.parametrize(("name", "writer"), [("out.mp4", "encode_mp4"), ("out.gif", "encode_gif")])
def test_failed_write_keeps_old_output_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, writer: str
) -> None:
    target = tmp_path / name
    target.write_bytes(b"previous result")
    written: list[Path] = []

    def crash_half_way(images: list[Image.Image], path: Path, fps: float) -> None:
        path.write_bytes(b"partial")
        written.append(path)
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(video_write, writer, crash_half_way)
    with pytest.raises(RuntimeError, match="encoder crashed"):
        write_video(solid_frames(3), target, fps=8)
    assert written[0].parent == tmp_path
    assert written[0].suffix == target.suffix
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"previous result"


def test_successful_write_leaves_only_the_output(tmp_path: Path) -> None:
    write_video(solid_frames(3), tmp_path / "a.mp4", fps=8)
    write_video(solid_frames(3), tmp_path / "a.gif", fps=8)
    write_preview([solid_frames(3)], tmp_path / "a.png", fps=8)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.gif", "a.mp4", "a.png"]


@pytest.mark.parametrize(
    ("frames", "name", "fps", "phrase"),
    [
        (solid_frames(2), "out.avi", 8, "unsupported suffix '.avi', use one of .mp4, .gif"),
        ([], "out.mp4", 8, "no frames to write"),
        (solid_frames(2), "out.gif", 0, "fps must be a positive number"),
        ([*solid_frames(1), *solid_frames(1, size=(32, 32))], "out.gif", 8, "differ in size"),
    ],
)
def test_invalid_write_raises_and_creates_nothing(
    tmp_path: Path, frames: list[Image.Image], name: str, fps: float, phrase: str
) -> None:
    with pytest.raises(AnyV2VError, match=phrase):
        write_video(frames, tmp_path / "sub" / name, fps=fps)
    assert list(tmp_path.iterdir()) == []
