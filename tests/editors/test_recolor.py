from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from anyv2v.editors import create_editor
from anyv2v.editors.color import rgb_to_lab
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
    with pytest.raises(AnyV2VError, match="no pixel of the frame is in the region.*tolerance=10"):
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
