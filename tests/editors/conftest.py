from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.editors import tiny_editors


@pytest.fixture(scope="session")
def editor_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("editor-models")


@pytest.fixture(scope="session")
def tiny_instruct_pix2pix(editor_models: Path) -> Path:
    return tiny_editors.save_tiny_instruct_pix2pix(editor_models / "instruct-pix2pix" / "model")


@pytest.fixture(scope="session")
def tiny_cosxl_edit(editor_models: Path) -> Path:
    return tiny_editors.save_tiny_cosxl_edit(editor_models / "cosxl-edit" / "model")


@pytest.fixture(scope="session")
def tiny_sdxl(editor_models: Path) -> Path:
    return tiny_editors.save_tiny_sdxl(editor_models / "sdxl" / "model")


@pytest.fixture(scope="session")
def tiny_ip_adapter(editor_models: Path, tiny_sdxl: Path) -> Path:
    return tiny_editors.save_tiny_ip_adapter(editor_models / "ip-adapter", tiny_sdxl)


@pytest.fixture(scope="session")
def tiny_flux_kontext(editor_models: Path) -> Path:
    return tiny_editors.save_tiny_flux_kontext(editor_models / "flux-kontext" / "model")


def square_on_background(
    size: tuple[int, int] = (40, 32), square=(200, 30, 30), background=(30, 40, 200)
) -> Image.Image:
    """A colored square (rows 8-20, columns 10-26) on a flat background; (width, height) `size`."""
    array = np.empty((size[1], size[0], 3), dtype=np.uint8)
    array[:] = background
    array[8:20, 10:26] = square
    return Image.fromarray(array)


@pytest.fixture
def frame() -> Image.Image:
    return square_on_background()
