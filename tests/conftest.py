from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.tiny_model import save_tiny_model

SIZE = 32
NUM_FRAMES = 4


@contextmanager
def one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread; several threads only spin against each other on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def one_torch_thread():
    with one_thread():
        yield


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-i2vgen-xl")


def moving_square_frames(count: int = NUM_FRAMES, size: int = SIZE, colour=(220, 40, 40)) -> list[Image.Image]:
    """A square sliding right over a gradient: content with structure and motion."""
    frames = []
    for i in range(count):
        array = np.zeros((size, size, 3), dtype=np.uint8)
        array[..., 2] = np.linspace(30, 200, size, dtype=np.uint8)[None, :]
        x = 4 + 3 * i
        array[10:20, x : x + 10] = colour
        frames.append(Image.fromarray(array))
    return frames


@pytest.fixture
def source_frames() -> list[Image.Image]:
    return moving_square_frames()


@pytest.fixture
def edited_frame() -> Image.Image:
    return moving_square_frames(1, colour=(40, 220, 40))[0]
