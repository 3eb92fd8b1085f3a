"""Small synthetic clips whose frame index is encoded in their colour, for the video tests."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image

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
