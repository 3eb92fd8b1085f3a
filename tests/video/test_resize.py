"""anyv2v.video.resize: aspect-keeping model sizes, fit/crop/pad frames, and the way back to the source size."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.video import fit_to_size
from anyv2v.video.resize import RESIZE_MODES, fit_size, resize_frame, restore_size

I2VGEN_XL = (512 * 512, 8)  # native pixels and size multiple of each backbone
SVD = (576 * 1024, 64)
SOURCES = [(1080, 1920), (1920, 1080), (720, 720), (480, 640), (1080, 1440), (240, 1000)]


def striped(size: tuple[int, int]) -> Image.Image:
    """A (height, width) image, red on the left half and blue on the right, so crops and stretches show."""
    height, width = size
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2, 0] = 255
    pixels[:, width // 2 :, 2] = 255
    return Image.fromarray(pixels)


def test_landscape_1080p_fits_i2vgen_xl_and_svd_sizes() -> None:
    assert fit_size((1080, 1920), *I2VGEN_XL) == (384, 680)  # ideal 384 x 682.7: the width rounds down to 85 x 8
    assert fit_size((1080, 1920), *SVD) == (576, 1024)  # SVD's native size is exactly 16:9
    assert fit_size((1920, 1080), *I2VGEN_XL) == (680, 384)
    assert fit_size((720, 720), *I2VGEN_XL) == (512, 512)
    assert fit_size((720, 720), *SVD) == (768, 768)


@pytest.mark.parametrize("rule", [I2VGEN_XL, SVD], ids=["i2vgen-xl", "svd"])
@pytest.mark.parametrize("source", SOURCES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_fit_size_keeps_multiples_aspect_and_native_pixels(source: tuple[int, int], rule: tuple[int, int]) -> None:
    native_pixels, multiple = rule
    height, width = fit_size(source, native_pixels, multiple)
    assert height % multiple == 0 and width % multiple == 0
    scale = math.sqrt(native_pixels / (source[0] * source[1]))
    # Each side is the nearest multiple to the ideal side, so the aspect is off by at most half a step per side.
    assert abs(height - source[0] * scale) <= multiple / 2
    assert abs(width - source[1] * scale) <= multiple / 2
    assert abs(height * width / native_pixels - 1) < 0.05


def test_fit_size_gives_at_least_one_multiple_per_side() -> None:
    assert fit_size((1, 4000), *SVD)[0] == 64


def test_fit_size_refuses_non_positive_sizes() -> None:
    with pytest.raises(AnyV2VError, match="multiple must be at least 1"):
        fit_size((1080, 1920), 512 * 512, 0)
    with pytest.raises(AnyV2VError, match="source_size"):
        fit_size((0, 1920), 512 * 512, 8)


def test_crop_mode_is_fit_to_size() -> None:
    image = striped((90, 160))
    cropped = resize_frame(image, (64, 64), "crop")
    assert cropped.tobytes() == fit_to_size(image, (64, 64)).tobytes()


def test_fit_mode_resizes_to_exactly_the_size_without_cropping() -> None:
    image = striped((90, 160))
    fitted = resize_frame(image, fit_size((90, 160), 64 * 64, 8), "fit")
    assert fitted.size == (88, 48)  # PIL's (width, height) of fit_size's (48, 88)
    pixels = np.asarray(fitted)
    assert pixels[:, 0, 0].min() > 200 and pixels[:, -1, 2].min() > 200  # both halves kept to the edges


def test_pad_letterboxes_a_landscape_image_into_a_square_with_bars_above_and_below() -> None:
    padded = np.asarray(resize_frame(Image.new("RGB", (160, 80), "white"), (64, 64), "pad"))
    assert padded.shape == (64, 64, 3)
    assert not padded[:16].any() and not padded[48:].any()  # 160x80 scales to 64x32: 16 black rows each side
    assert (padded[16:48] == 255).all()


def test_pad_letterboxes_a_portrait_image_with_bars_left_and_right_content_centred() -> None:
    padded = np.asarray(resize_frame(striped((120, 60)), (40, 60), "pad"))
    assert padded.shape == (40, 60, 3)
    assert not padded[:, :20].any() and not padded[:, 40:].any()  # 60x120 scales to 20x40, centred at 20..40
    assert (padded[:, 20:27, 0] > 240).all() and (padded[:, 33:40, 2] > 240).all()  # red left, blue right


@pytest.mark.parametrize("mode", ["fit", "pad"])
def test_restore_size_returns_fit_and_pad_frames_to_the_source_size(mode: str) -> None:
    source = striped((90, 160))
    size = fit_size((90, 160), 64 * 64, 8) if mode == "fit" else (64, 64)
    restored = restore_size([resize_frame(source, size, mode)] * 2, (90, 160), mode)
    assert [frame.size for frame in restored] == [(160, 90)] * 2
    difference = np.abs(np.asarray(restored[0], np.int16) - np.asarray(source, np.int16))
    assert np.median(difference) == 0 and difference.mean() < 8  # only the stripe boundary blurs; no bars left


def test_restore_size_after_crop_gives_the_kept_window_at_source_scale() -> None:
    source = striped((1080, 1920))
    cropped = resize_frame(source, (512, 512), "crop")
    (restored,) = restore_size([cropped], (1080, 1920), "crop")
    assert restored.size == (1080, 1080)  # the cut sides cannot come back; the centre square, unstretched
    expected = np.asarray(source.crop((420, 0, 1500, 1080)), np.int16)
    assert np.abs(np.asarray(restored, np.int16) - expected).mean() < 8


@pytest.mark.parametrize("call", [resize_frame, restore_size])
def test_unknown_mode_is_a_one_line_error_naming_the_choices(call) -> None:
    image = Image.new("RGB", (32, 32))
    argument = image if call is resize_frame else [image]
    with pytest.raises(AnyV2VError) as raised:
        call(argument, (32, 32), "stretch")
    message = str(raised.value)
    assert "\n" not in message and "'stretch'" in message
    assert all(mode in message for mode in RESIZE_MODES)
