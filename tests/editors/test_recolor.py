from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from anyv2v.editors import create_editor
from anyv2v.editors.color import lightness_chroma_hue, rgb_to_lab
from anyv2v.errors import AnyV2VError
from tests.editors.conftest import square_on_background

SQUARE = (slice(8, 20), slice(10, 26))


def square_mask(frame: Image.Image) -> Image.Image:
    mask = np.zeros((frame.height, frame.width), dtype=np.uint8)
    mask[SQUARE] = 255
    return Image.fromarray(mask)


def outside(array: np.ndarray) -> np.ndarray:
    keep = np.ones(array.shape[:2], bool)
    keep[SQUARE] = False
    return array[keep]


@pytest.mark.parametrize("region", ["color range", "mask", "mask and color range"])
def test_a_red_square_on_blue_turns_green_and_nothing_else_changes(frame, region):
    instruction = "green" if region == "mask" else "red -> green"
    if region == "color range":
        instruction = "#c81e1e -> green"  # the square's exact color
    mask = square_mask(frame) if "mask" in region else None
    edited = np.asarray(create_editor("recolor").edit(frame, instruction, mask=mask), dtype=int)
    source = np.asarray(frame, dtype=int)
    assert np.abs(edited[SQUARE] - [0, 128, 0]).max() <= 1
    assert np.array_equal(outside(edited), outside(source))


def test_shading_inside_the_region_is_kept(frame):
    shaded = np.asarray(frame).copy()
    shaded[SQUARE] = np.clip(np.asarray(frame)[SQUARE] + np.arange(16)[None, :, None] * 3, 0, 255)
    edited = create_editor("recolor").edit(Image.fromarray(shaded), "teal", mask=square_mask(frame))
    before, after = rgb_to_lab(shaded[SQUARE].astype(float)), rgb_to_lab(np.asarray(edited, float)[SQUARE])
    np.testing.assert_allclose(after.mean(axis=(0, 1)), rgb_to_lab(np.array([0.0, 128, 128])), atol=1.5)
    assert after[..., 0].std() == pytest.approx(before[..., 0].std(), rel=0.15)


def test_tolerance_widens_the_color_range():
    frame = square_on_background(square=(200, 30, 30))
    editor = create_editor("recolor", tolerance="5")
    with pytest.raises(AnyV2VError, match="no pixel of the frame is in the region.*tolerance=10 for an exact one"):
        editor.edit(frame, "#e61e1e -> green")  # ΔE about 9 from the square
    assert create_editor("recolor", tolerance=20).edit(frame, "#e61e1e -> green").getpixel((12, 10)) == (0, 128, 0)


@pytest.mark.parametrize(
    ("instruction", "message"),
    [
        ("green", "recolor needs a region: pass --mask IMAGE, or name the color"),
        ("red -> green -> blue", "has more than one '->'"),
        ("red -> grene", "unknown color 'grene'"),
    ],
)
def test_unusable_instructions_are_one_line_errors(frame, instruction, message):
    with pytest.raises(AnyV2VError, match=message):
        create_editor("recolor").edit(frame, instruction)


def test_a_named_color_takes_every_shade_of_its_hue_but_not_skin_or_grey():
    frame = np.full((32, 48, 3), 128, dtype=np.uint8)  # grey
    frame[4:12, 4:20] = (150, 20, 30)  # a dark red bow tie, ΔE about 50 from CSS red
    frame[16:28, 4:20] = (224, 172, 105)  # skin
    frame[16:28, 28:44] = (250, 215, 215)  # a faint pink
    edited = np.asarray(create_editor("recolor").edit(Image.fromarray(frame), "red -> blue"), dtype=int)
    _, _, hue = lightness_chroma_hue(rgb_to_lab(edited[4:12, 4:20].astype(float)))
    assert np.all(np.abs(hue - 306) < 10)  # blue now
    kept = np.ones(frame.shape[:2], bool)
    kept[4:12, 4:20] = False
    assert np.array_equal(edited[kept], frame[kept])


def test_an_exact_color_still_means_a_delta_e_range():
    frame = square_on_background(square=(150, 20, 30))
    with pytest.raises(AnyV2VError, match="select it with --mask IMAGE, or widen the color range"):
        create_editor("recolor").edit(frame, "#ff0000 -> blue")


def test_a_named_color_matching_almost_nothing_points_to_the_mask():
    frame = np.full((100, 100, 3), 128, dtype=np.uint8)
    frame[0, :3] = (200, 20, 20)  # 3 red pixels of 10,000
    with pytest.warns(UserWarning, match=r"only 0.0% of the frame matched .* select it with --mask IMAGE"):
        create_editor("recolor").edit(Image.fromarray(frame), "red -> blue")
