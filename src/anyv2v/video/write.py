"""Write videos and images atomically: a file appears complete or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import av.error
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.runtime import atomic_output
from anyv2v.video.read import IMAGE_SUFFIXES, check_fps, one_line

VIDEO_SUFFIXES = (".mp4", ".gif")
# Tried in order; "h264" resolves to whatever H.264 encoder FFmpeg was built with.
_MP4_ENCODERS = ("libx264", "h264", "mpeg4")
# No macroblock-tree rate control: with it, this libx264 (PyAV's wheels) wrote identical frames to different
# bitstreams from run to run whenever the CPU was busy (up to 28/255 apart decoded), even on one thread.
_MP4_ENCODER_OPTIONS = {"libx264": {"crf": "18", "x264-params": "mbtree=0"}}
_MP4_FALLBACK_BIT_RATE = 8_000_000


def write_video(frames: Sequence[Image.Image], path: str | Path, fps: float) -> Path:
    """Write frames as .mp4 (H.264, else MPEG-4; yuv420p) or looping .gif atomically; return the path.

    MP4 needs even dimensions, so odd-sized frames get one black row/column of padding.
    GIF stores delays in 1/100 s, so the frame rate is rounded to that, and Pillow merges
    identical consecutive frames into one longer frame.
    """
    target = Path(path)
    check_output_suffix(target, VIDEO_SUFFIXES)
    check_fps(fps)
    images = checked_frames(frames, target)
    with atomic_output(target) as temporary:
        if target.suffix.lower() == ".gif":
            encode_gif(images, temporary, fps)
        else:
            encode_mp4(images, temporary, fps)
    return target


def write_image(image: Image.Image, path: str | Path) -> Path:
    """Write one RGB image atomically, in the format its suffix names (png, jpg, webp, bmp); return the path."""
    target = Path(path)
    check_output_suffix(target, IMAGE_SUFFIXES)
    with atomic_output(target) as temporary:
        image.convert("RGB").save(temporary)
    return target


def encode_gif(images: list[Image.Image], path: Path, fps: float) -> None:
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
    )


def encode_mp4(images: list[Image.Image], path: Path, fps: float) -> None:
    encoder = _mp4_encoder_name()
    padded = [_pad_to_even(image) for image in images]
    try:
        with av.open(str(path), mode="w", format="mp4") as container:
            stream = container.add_stream(encoder, rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = padded[0].size
            stream.pix_fmt = "yuv420p"
            if stream.codec_context.name in _MP4_ENCODER_OPTIONS:
                stream.options = _MP4_ENCODER_OPTIONS[stream.codec_context.name]
            else:
                stream.bit_rate = _MP4_FALLBACK_BIT_RATE
            for image in padded:
                frame = av.VideoFrame.from_image(image).reformat(format="yuv420p")
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
    except av.error.FFmpegError as error:
        raise AnyV2VError(
            f"encoding mp4 with '{encoder}' failed ({one_line(error)}): "
            "write a .gif instead or reinstall PyAV from PyPI (its wheels include libx264)"
        ) from error


def _mp4_encoder_name() -> str:
    """First available encoder of _MP4_ENCODERS; PyAV builds without libx264 exist."""
    for name in _MP4_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except ValueError:  # av's UnknownCodecError
            continue
        return name
    raise AnyV2VError(
        f"PyAV's FFmpeg has none of the encoders {', '.join(_MP4_ENCODERS)}: "
        "reinstall PyAV from PyPI (pip install --force-reinstall av) or write a .gif instead"
    )


def _pad_to_even(image: Image.Image) -> Image.Image:
    even = (image.width + image.width % 2, image.height + image.height % 2)
    if even == image.size:
        return image
    canvas = Image.new("RGB", even)
    canvas.paste(image)
    return canvas


def check_output_suffix(target: Path, supported: tuple[str, ...]) -> None:
    if target.suffix.lower() not in supported:
        raise AnyV2VError(
            f"cannot write '{target}': unsupported suffix '{target.suffix}', use one of {', '.join(supported)}"
        )


def checked_frames(frames: Sequence[Image.Image], target: Path) -> list[Image.Image]:
    if not frames:
        raise AnyV2VError(f"no frames to write to '{target}': pass at least one frame")
    images = [frame.convert("RGB") for frame in frames]
    sizes = {image.size for image in images}
    if len(sizes) > 1:
        raise AnyV2VError(
            f"frames for '{target}' differ in size ({sorted(sizes)}): resize them all with fit_to_size first"
        )
    return images
