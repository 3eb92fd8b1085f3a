"""anyv2v.video.read: sampling clips by time, fitting sizes, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.video import fit_to_size, read_image, read_span, read_video
from anyv2v.video import read as video_read
from tests.video.clips import HEIGHT, SIZE, WIDTH, assert_close, index_of, make_gif, make_mp4, solid_frames


class FakeContainer:
    """Wraps a real input container to count decoded frames, or to decode none at all."""

    def __init__(self, real: av.container.InputContainer, decode_nothing: bool) -> None:
        self.real, self.decode_nothing, self.decoded = real, decode_nothing, 0
        self.streams = real.streams

    def __enter__(self) -> FakeContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()

    def decode(self, stream: av.video.stream.VideoStream):
        if self.decode_nothing:
            return
        for frame in self.real.decode(stream):
            self.decoded += 1
            yield frame


@pytest.fixture
def fake_open(monkeypatch: pytest.MonkeyPatch):
    """Patch av.open for reading; returns the list of containers it opened."""
    real_open = av.open
    opened: list[FakeContainer] = []

    def install(decode_nothing: bool = False) -> list[FakeContainer]:
        def fake(path: str) -> FakeContainer:
            opened.append(FakeContainer(real_open(path), decode_nothing))
            return opened[-1]

        monkeypatch.setattr(video_read.av, "open", fake)
        return opened

    return install


def test_sampling_24fps_source_at_8fps_takes_every_third_frame(tmp_path: Path) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", 24)
    frames = read_video(clip, num_frames=8, fps=8, size=SIZE)
    assert [index_of(frame) for frame in frames] == [0, 3, 6, 9, 12, 15, 18, 21]


def test_sampling_at_source_fps_takes_consecutive_frames(tmp_path: Path) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", 24)
    frames = read_video(clip, num_frames=24, fps=24, size=SIZE)
    assert [index_of(frame) for frame in frames] == list(range(24))


def test_sampling_above_source_fps_repeats_frames(tmp_path: Path) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", 8, fps=8)
    frames = read_video(clip, num_frames=8, fps=16, size=SIZE)
    assert [index_of(frame) for frame in frames] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_sampling_stops_decoding_after_last_needed_frame(tmp_path: Path, fake_open) -> None:
    clip = make_mp4(tmp_path / "long.mp4", 120)
    opened = fake_open()
    frames = read_video(clip, num_frames=4, fps=8, size=SIZE)
    assert [index_of(frame) for frame in frames] == [0, 3, 6, 9]
    # Frames 0..10: frame 10 proves frame 9 is the last one shown at t = 0.375 s; none after it.
    assert opened[0].decoded == 11


def test_read_video_resizes_and_center_crops(tmp_path: Path) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", 3)
    frames = read_video(clip, num_frames=3, fps=24, size=(20, 40))
    assert [frame.size for frame in frames] == [(40, 20)] * 3
    assert all(frame.mode == "RGB" for frame in frames)


def test_fit_to_size_crops_the_center_of_a_wide_image() -> None:
    image = Image.new("RGB", (80, 40), "green")
    image.paste(Image.new("RGB", (40, 40), "red"), (20, 0))
    fitted = fit_to_size(image, (40, 40))
    assert fitted.size == (40, 40)
    assert fitted.getcolors() == [(40 * 40, (255, 0, 0))]


def test_fit_to_size_scales_a_tall_image_to_cover_then_crops_rows() -> None:
    image = Image.new("RGB", (20, 80), "green")
    image.paste(Image.new("RGB", (20, 40), "red"), (0, 20))
    fitted = fit_to_size(image, (20, 10))  # scale 0.5 -> 10x40, keep rows 10..30 of 40
    assert fitted.size == (10, 20)
    assert_close(fitted.getpixel((5, 0)), (255, 0, 0), 40)
    assert_close(fitted.getpixel((5, 19)), (255, 0, 0), 40)


def test_folder_of_frames_is_read_consecutively_in_natural_order(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, image in enumerate(solid_frames(12)):
        image.save(folder / f"frame{index}.png")
    (folder / "notes.txt").write_text("not a frame")
    Image.new("RGB", (WIDTH, HEIGHT), "white").save(folder / ".hidden.png")
    frames = read_video(folder, num_frames=11, fps=1, size=(24, 32))
    assert [index_of(frame) for frame in frames] == list(range(11))
    assert frames[0].size == (32, 24)


def test_gif_input_is_sampled_by_time(tmp_path: Path) -> None:
    clip = make_gif(tmp_path / "clip.gif", 10, frame_ms=50)  # 20 fps
    frames = read_video(clip, num_frames=5, fps=10, size=SIZE)
    assert [index_of(frame) for frame in frames] == [0, 2, 4, 6, 8]


def test_read_image_converts_to_rgb_and_fits(tmp_path: Path) -> None:
    path = tmp_path / "edit.png"
    Image.new("RGBA", (100, 50), (10, 20, 30, 40)).save(path)
    assert read_image(path).mode == "RGB"
    assert read_image(path).size == (100, 50)
    assert read_image(path, size=(16, 24)).size == (24, 16)


def test_too_short_video_says_how_many_frames_are_available(tmp_path: Path) -> None:
    clip = make_mp4(tmp_path / "short.mp4", 9)
    with pytest.raises(AnyV2VError, match=r"only 3 frames at 8 fps, 16 needed: lower --num-frames") as error:
        read_video(clip, num_frames=16, fps=8, size=SIZE)
    assert "\n" not in str(error.value)


def test_video_without_frames_is_an_error(tmp_path: Path, fake_open) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", 3)
    fake_open(decode_nothing=True)
    with pytest.raises(AnyV2VError, match="no decodable frames"):
        read_video(clip, num_frames=1, fps=8, size=SIZE)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "sound.wav"
    with av.open(str(path), mode="w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame(format="s16", layout="mono", samples=800)
        frame.planes[0].update(bytes(1600))
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(AnyV2VError, match="no video stream"):
        read_video(path, num_frames=1, fps=8, size=SIZE)


def test_not_a_video_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.mp4"
    path.write_text("this is not a video")
    with pytest.raises(AnyV2VError, match="cannot read video .*pass a valid video") as error:
        read_video(path, num_frames=1, fps=8, size=SIZE)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("num_frames", "fps", "phrase"),
    [
        (0, 8, "num_frames must be at least 1"),
        (4, 0, "fps must be a positive"),
        (4, -2, "fps must be a positive"),
    ],
)
def test_bad_sampling_arguments_are_errors(tmp_path: Path, num_frames: int, fps: float, phrase: str) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", 3)
    with pytest.raises(AnyV2VError, match=phrase):
        read_video(clip, num_frames=num_frames, fps=fps, size=SIZE)


def test_missing_inputs_are_errors(tmp_path: Path) -> None:
    with pytest.raises(AnyV2VError, match="input video .* does not exist"):
        read_video(tmp_path / "missing.mp4", num_frames=1, fps=8, size=SIZE)
    with pytest.raises(AnyV2VError, match="image .* does not exist"):
        read_image(tmp_path / "missing.png")


def test_unreadable_image_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    with pytest.raises(AnyV2VError, match="cannot read image .*pass a valid png"):
        read_image(path)


def test_folder_without_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no frames here")
    with pytest.raises(AnyV2VError, match="has no image frames"):
        read_video(tmp_path, num_frames=1, fps=8, size=SIZE)


def test_folder_with_too_few_images_is_an_error(tmp_path: Path) -> None:
    for index, image in enumerate(solid_frames(3)):
        image.save(tmp_path / f"{index:03d}.png")
    with pytest.raises(AnyV2VError, match="only 3 image frames, 5 needed"):
        read_video(tmp_path, num_frames=5, fps=8, size=SIZE)


def test_a_span_is_sampled_from_its_start_to_its_end_or_the_videos(tmp_path):
    video = make_mp4(tmp_path / "clip.mp4", 24, fps=24)  # one second
    assert [index_of(f) for f in read_span(video, 8, start=0.5, end=1.0)] == [12, 15, 18, 21]
    assert [index_of(f) for f in read_span(video, 8)] == [0, 3, 6, 9, 12, 15, 18, 21]  # to the end
    assert [index_of(f) for f in read_span(video, 8, start=0.75)] == [18, 21]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(solid_frames(6)):
        frame.save(folder / f"{i}.png")
    assert [index_of(f) for f in read_span(folder, 2, start=1.0, end=2.0)] == [2, 3]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(-1.0, None, "is empty or negative"), (0.5, 0.5, "is empty or negative"), (0.8, 0.4, "is empty or negative"),
     (3.0, None, "has no frame from 3 s"), (0.5, 2.0, "has only")],
)  # fmt: skip
def test_a_span_outside_the_video_is_a_one_line_error(tmp_path, start, end, message):
    video = make_mp4(tmp_path / "clip.mp4", 24, fps=24)
    with pytest.raises(AnyV2VError, match=message) as error:
        read_span(video, 8, start=start, end=end)
    assert "\n" not in str(error.value) and "--start" in str(error.value)
