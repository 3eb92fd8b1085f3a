"""anyv2v.video.preview: side-by-side previews, enlarged, labels above the frames."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.video import write_preview
from tests.video.clips import HEIGHT, WIDTH, assert_close, colour_of, index_of, solid_frames


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
