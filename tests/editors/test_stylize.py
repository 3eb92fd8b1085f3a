from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from anyv2v.editors import create_editor, get_editor
from anyv2v.errors import AnyV2VError


@pytest.fixture
def photo() -> Image.Image:
    """Smooth gradients and shapes: many distinct colors and some edges."""
    y, x = np.mgrid[0:48, 0:64]
    array = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.uint8)
    array[10:30, 20:40] = (240, 200, 40)
    return Image.fromarray(array)


def colors(image: Image.Image) -> int:
    return len(image.getcolors(maxcolors=1 << 20))


@pytest.mark.parametrize("style", ["cartoon", "pencil", "posterize", None])
def test_styles_keep_the_size_and_repeat_exactly(photo, style):
    first = create_editor("stylize").edit(photo, style)
    assert first.size == photo.size and first.mode == "RGB"
    assert first.tobytes() == create_editor("stylize").edit(photo, style).tobytes()


def test_cartoon_and_posterize_shrink_the_palette(photo):
    assert colors(photo) > 1000
    assert colors(create_editor("stylize", colors="6").edit(photo, "posterize")) <= 6
    cartoon = create_editor("stylize").edit(photo, "Cartoon")
    assert colors(cartoon) <= 8 + 1  # the palette plus black outlines
    assert (0, 0, 0) in {color for _, color in cartoon.getcolors()}


def test_pencil_gives_a_light_grayscale_sketch(photo):
    sketch = np.asarray(create_editor("stylize").edit(photo, "pencil"), dtype=int)
    assert np.array_equal(sketch[..., 0], sketch[..., 1]) and np.array_equal(sketch[..., 1], sketch[..., 2])
    assert np.median(sketch) > 200  # paper-white where the photo is flat


def test_unknown_styles_list_the_known_ones(photo):
    with pytest.raises(AnyV2VError, match="no style 'oil': use --instruction cartoon or pencil or posterize"):
        create_editor("stylize").edit(photo, "oil")


def test_opencv_styles_without_the_extra_give_the_install_hint(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cv2" else real_find_spec(name, *a)
    )
    with pytest.raises(AnyV2VError, match=r"needs the 'opencv' extra \(missing cv2\): pip install 'anyv2v\[opencv\]'"):
        create_editor("opencv-stylize")
    assert get_editor("opencv-stylize").needs() == ["extra: anyv2v[opencv]"]


@pytest.mark.parametrize("style", ["stylization", "pencil", "pencil-color", "detail"])
def test_opencv_styles_run_with_the_extra_installed(photo, style):
    """The test environment installs the opencv extra (README, .ci/run), so this never silently skips."""
    edited = create_editor("opencv-stylize").edit(photo, style)
    assert edited.size == photo.size and edited.tobytes() != photo.tobytes()
