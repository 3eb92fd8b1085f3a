"""Tests for anyv2v.video.io on small synthetic clips whose frame index is encoded in their colour."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.video import fit_to_size, read_image, read_video, write_preview, write_video
from anyv2v.video import io as video_io

WIDTH, HEIGHT = 64, 48
SIZE = (HEIGHT, WIDTH)
COLOUR_STEP = 10  # red rises and green falls by this much per source frame


def colour_of(index: int) -> tuple[int, int, int]:
    return (index * COLOUR_STEP % 256, 255 - index * COLOUR_STEP % 256, 128)


def index_of(image: Image.Image) -> int:
    """Recover the source frame index from a (possibly lossy) frame's central colour."""
    red, green, _ = image.getpixel((image.width // 2, image.height // 2))
    return round((red + 255 - green) / (2 * COLOUR_STEP))


def solid_frames(count: int, size: tuple[int, int] = (WIDTH, HEIGHT)) -> list[Image.Image]:
    return [Image.new("RGB", size, colour_of(index)) for index in range(count)]


def make_mp4(path: Path, count: int, fps: int = 24) -> Path:
    """Encode with PyAV directly so reading is tested independently of write_video."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "10"}
        for image in solid_frames(count):
            container.mux(stream.encode(av.VideoFrame.from_image(image).reformat(format="yuv420p")))
        container.mux(stream.encode())
    return path


def make_gif(path: Path, count: int, frame_ms: int) -> Path:
    frames = solid_frames(count)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return path


def assert_close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int) -> None:
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (actual, expected)


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

        monkeypatch.setattr(video_io.av, "open", fake)
        return opened

    return install


# ---------------------------------------------------------------------------------------------- reading


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


# ---------------------------------------------------------------------------------------------- writing


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


def test_mp4_pads_odd_sizes_to_even(tmp_path: Path) -> None:
    out = write_video(solid_frames(3, size=(63, 47)), tmp_path / "odd.mp4", fps=8)
    with av.open(str(out)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (64, 48)


def test_mp4_falls_back_to_another_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video_io, "_MP4_ENCODERS", ("no-such-encoder", "mpeg4"))
    out = write_video(solid_frames(4), tmp_path / "out.mp4", fps=8)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
        assert sum(1 for _ in container.decode(video=0)) == 4


def test_mp4_without_any_encoder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video_io, "_MP4_ENCODERS", ("no-such-encoder",))
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


@pytest.mark.parametrize(("name", "writer"), [("out.mp4", "_encode_mp4"), ("out.gif", "_encode_gif")])
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

    monkeypatch.setattr(video_io, writer, crash_half_way)
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


# ---------------------------------------------------------------------------------------------- previews


def test_gif_preview_holds_a_still_column_across_frames(tmp_path: Path) -> None:
    still = [Image.new("RGB", (WIDTH, HEIGHT), "blue")]
    out = write_preview([solid_frames(6), still], tmp_path / "preview.gif", fps=8)
    with Image.open(out) as gif:
        assert (gif.n_frames, gif.size) == (6, (2 * WIDTH, HEIGHT))
        gif.seek(5)
        frame = gif.convert("RGB")
        assert_close(frame.getpixel((WIDTH // 2, 30)), colour_of(5), 8)
        assert_close(frame.getpixel((WIDTH + WIDTH // 2, 30)), (0, 0, 255), 8)


def test_gif_preview_uses_the_shorter_column_and_scales_to_first_height(tmp_path: Path) -> None:
    small = solid_frames(4, size=(WIDTH // 2, HEIGHT // 2))
    out = write_preview([solid_frames(6), small], tmp_path / "preview.gif", fps=8)
    with Image.open(out) as gif:
        assert (gif.n_frames, gif.size) == (4, (2 * WIDTH, HEIGHT))


def test_png_preview_shows_eight_evenly_spaced_frames_per_row(tmp_path: Path) -> None:
    still = [Image.new("RGB", (WIDTH, HEIGHT), "blue")]
    out = write_preview([solid_frames(16), still], tmp_path / "preview.png", fps=8)
    with Image.open(out) as strip:
        strip = strip.convert("RGB")
    assert strip.size == (8 * WIDTH, 2 * HEIGHT)
    shown = [index_of(strip.crop((x * WIDTH, 0, (x + 1) * WIDTH, HEIGHT))) for x in range(8)]
    assert shown == [0, 2, 4, 6, 9, 11, 13, 15]
    assert strip.getpixel((WIDTH // 2, HEIGHT + HEIGHT // 2)) == (0, 0, 255)
    assert strip.getpixel((WIDTH + WIDTH // 2, HEIGHT + HEIGHT // 2)) == (0, 0, 0)


@pytest.mark.parametrize("name", ["labelled.png", "labelled.gif"])
def test_preview_labels_sit_in_a_band_above_the_frames_never_on_them(tmp_path: Path, name: str) -> None:
    columns = [solid_frames(3), solid_frames(3)]
    plain = write_preview(columns, tmp_path / f"plain{Path(name).suffix}", fps=8)
    labelled = write_preview(columns, tmp_path / name, fps=8, labels=["source", "edited"])
    with Image.open(plain) as a, Image.open(labelled) as b:
        a, b = a.convert("RGB"), b.convert("RGB")
        rows = 2 if name.endswith(".png") else 1  # the png has a row per column, each under its own band
        band = (b.height - a.height) // rows
        assert band > 8 and b.width == a.width
        assert b.crop((0, 0, 40, band)).getextrema() != a.crop((0, 0, 40, band)).getextrema()  # text drawn
        assert b.crop((0, band, a.width, band + HEIGHT)).tobytes() == a.crop((0, 0, a.width, HEIGHT)).tobytes()


def test_preview_enlarges_small_frames_pixel_for_pixel(tmp_path: Path) -> None:
    small = [Image.fromarray(np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3))]
    out = write_preview([small], tmp_path / "big.png", fps=8, min_height=100)
    with Image.open(out) as strip:
        assert strip.size == (112, 112)  # the smallest whole factor (7) that reaches 100 pixels
        assert strip.convert("RGB").getpixel((7 * 3 + 6, 7 * 5)) == small[0].getpixel((3, 5))


def test_mp4_preview_is_written(tmp_path: Path) -> None:
    out = write_preview([solid_frames(5), solid_frames(5)], tmp_path / "preview.mp4", fps=8)
    with av.open(str(out)) as container:
        assert container.streams.video[0].width == 2 * WIDTH
        assert sum(1 for _ in container.decode(video=0)) == 5


@pytest.mark.parametrize(
    ("columns", "labels", "name", "phrase"),
    [
        ([], None, "p.gif", "at least one column"),
        ([solid_frames(2), []], None, "p.gif", "at least one frame"),
        ([solid_frames(2)], ["a", "b"], "p.png", "2 labels for 1 columns"),
        ([solid_frames(2)], None, "p.webp", "unsupported suffix"),
    ],
)
def test_invalid_preview_raises_and_creates_nothing(
    tmp_path: Path, columns: list[list[Image.Image]], labels: list[str] | None, name: str, phrase: str
) -> None:
    with pytest.raises(AnyV2VError, match=phrase):
        write_preview(columns, tmp_path / name, fps=8, labels=labels)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- errors


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
