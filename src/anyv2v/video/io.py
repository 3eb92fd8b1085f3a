"""Read clips and images into fixed-size RGB frames, and write videos and previews atomically.

Everything the pipeline sees passes through here, so every input problem becomes a one-line
AnyV2VError that says how to fix it, and no output file is ever left half-written.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import av.error
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from anyv2v.errors import AnyV2VError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".gif")
PREVIEW_SUFFIXES = (".gif", ".png", ".mp4")
PREVIEW_STRIP_FRAMES = 8
PREVIEW_MIN_HEIGHT = 160  # what a preview enlarges small frames to (the toy model's are 32 pixels)
LABEL_BAND = 14  # pixels above each labelled column (gif, mp4) or row (png)

# Tolerance for timestamps that land a hair after a target time because of time-base rounding.
_PTS_SLACK_S = 1e-3
# Tried in order; "h264" resolves to whatever H.264 encoder FFmpeg was built with.
_MP4_ENCODERS = ("libx264", "h264", "mpeg4")
_MP4_ENCODER_OPTIONS = {"libx264": {"crf": "18"}}
_MP4_FALLBACK_BIT_RATE = 8_000_000


# ---------------------------------------------------------------------------------------------- reading


def read_video(path: str | Path, num_frames: int, fps: float, size: tuple[int, int]) -> list[Image.Image]:
    """Return `num_frames` RGB frames of `size` (height, width) sampled at `fps` from the clip's start.

    A folder of images is taken as consecutive frames (the first `num_frames` in natural order).
    """
    _check_frame_count(num_frames)
    _check_fps(fps)
    _check_size(size)
    source = _existing_path(path, "input video", "pass an existing video file or a folder of frames")
    if source.is_dir():
        files = _image_files(source)
        _check_enough_folder_frames(source, len(files), num_frames)
        frames = [read_image(file) for file in files[:num_frames]]
    else:
        frames = _sample_video_file(source, num_frames, fps)
    return [fit_to_size(frame, size) for frame in frames]


def read_image(path: str | Path, size: tuple[int, int] | None = None) -> Image.Image:
    """Load an image as RGB, optionally cover-resized and center-cropped to `size` (height, width)."""
    if size is not None:
        _check_size(size)
    source = _existing_path(path, "image", "pass an existing image file (png, jpg, webp, bmp)")
    try:
        with Image.open(source) as image:
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise AnyV2VError(
            f"cannot read image '{source}' ({_one_line(error)}): "
            "pass a valid png, jpg, webp or bmp file, or re-save it with an image editor"
        ) from error
    return rgb if size is None else fit_to_size(rgb, size)


def fit_to_size(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale `image` to cover `size` (height, width) keeping its aspect, then crop the center.

    Covering instead of letterboxing keeps every output pixel real content, which the
    video models expect; only the overflowing edges of the longer side are lost.
    """
    _check_size(size)
    height, width = size
    scale = max(width / image.width, height / image.height)
    covered = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    resized = image if covered == image.size else image.resize(covered, Image.Resampling.LANCZOS)
    left = (resized.width - width) // 2
    top = (resized.height - height) // 2
    return resized.crop((left, top, left + width, top + height))


def _sample_video_file(path: Path, num_frames: int, fps: float) -> list[Image.Image]:
    """Decode only as far as needed to pick the frames shown at times i / fps."""
    try:
        with av.open(str(path)) as container:
            stream = _first_video_stream(container, path)
            stream.thread_type = "AUTO"
            picked = _sample_at_fps(_timed_frames(container, stream, path), num_frames, fps)
            images = [frame.to_image() for frame in picked]
    except av.error.EOFError as error:  # what FFmpeg reports for a container whose stream holds no frames
        raise AnyV2VError(
            f"video '{path}' ends before its first frame (no frames, or truncated): pass a video with frames"
        ) from error
    except av.error.FFmpegError as error:
        raise AnyV2VError(
            f"cannot read video '{path}' ({_one_line(error)}): pass a valid video "
            "(mp4, webm, mov, mkv, avi, gif) or a folder of frames, or re-encode it with ffmpeg"
        ) from error
    _check_enough_video_frames(path, len(images), num_frames, fps)
    return images


def _first_video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise AnyV2VError(f"'{path}' has no video stream (audio only or not a video): pass a file that contains video")
    return container.streams.video[0]


def _timed_frames(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> Iterator[tuple[float, av.VideoFrame]]:
    """Yield (presentation time in seconds, frame); times come from the frame rate if pts are missing."""
    rate = stream.average_rate or stream.guessed_rate
    for index, frame in enumerate(container.decode(stream)):
        if frame.time is not None:
            yield frame.time, frame
        elif rate:
            yield index / float(rate), frame
        else:
            raise AnyV2VError(
                f"video '{path}' has neither timestamps nor a frame rate: "
                "re-encode it (e.g. ffmpeg -i in.avi out.mp4) or pass a folder of frames"
            )


def _sample_at_fps(
    timed_frames: Iterable[tuple[float, av.VideoFrame]], num_frames: int, fps: float
) -> list[av.VideoFrame]:
    """Pick, for each target time i / fps, the last frame shown at or before it.

    A frame is known to answer a target only once the next frame arrives later than that
    target, so decoding stops one frame past the last target. Targets beyond the last
    frame's time are not available; the caller reports how many were.
    """
    picked: list[av.VideoFrame] = []
    start: float | None = None
    held: av.VideoFrame | None = None
    held_elapsed = 0.0
    for time, frame in timed_frames:
        start = time if start is None else start
        elapsed = time - start
        # This frame comes after the next target, so the held frame is the one shown then.
        while held is not None and len(picked) < num_frames and elapsed > len(picked) / fps + _PTS_SLACK_S:
            picked.append(held)
        if len(picked) == num_frames:
            return picked
        held, held_elapsed = frame, elapsed
    # End of stream: the last frame still answers targets up to its own time.
    while held is not None and len(picked) < num_frames and len(picked) / fps - _PTS_SLACK_S <= held_elapsed:
        picked.append(held)
    return picked


def _image_files(folder: Path) -> list[Path]:
    """Image files of a frame folder in natural order (frame2 before frame10); hidden files skipped."""
    frames = [
        entry
        for entry in folder.iterdir()
        if entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES and not entry.name.startswith(".")
    ]
    if not frames:
        raise AnyV2VError(
            f"folder '{folder}' has no image frames ({', '.join(IMAGE_SUFFIXES)}): "
            "put the frames there as image files or pass a video file instead"
        )
    return sorted(frames, key=lambda entry: _natural_key(entry.name))


def _natural_key(name: str) -> tuple[str | int, ...]:
    # re.split with a capture group alternates text and digit runs, so odd positions are numbers.
    parts = re.split(r"(\d+)", name)
    return tuple(int(part) if index % 2 else part.casefold() for index, part in enumerate(parts))


# ---------------------------------------------------------------------------------------------- writing


def write_video(frames: Sequence[Image.Image], path: str | Path, fps: float) -> Path:
    """Write frames as .mp4 (H.264, else MPEG-4; yuv420p) or looping .gif atomically; return the path.

    MP4 needs even dimensions, so odd-sized frames get one black row/column of padding.
    GIF stores delays in 1/100 s, so the frame rate is rounded to that, and Pillow merges
    identical consecutive frames into one longer frame.
    """
    target = Path(path)
    _check_output_suffix(target, VIDEO_SUFFIXES)
    _check_fps(fps)
    images = _checked_frames(frames, target)
    with atomic_output(target) as temporary:
        if target.suffix.lower() == ".gif":
            _encode_gif(images, temporary, fps)
        else:
            _encode_mp4(images, temporary, fps)
    return target


def write_image(image: Image.Image, path: str | Path) -> Path:
    """Write one RGB image atomically, in the format its suffix names (png, jpg, webp, bmp); return the path."""
    target = Path(path)
    _check_output_suffix(target, IMAGE_SUFFIXES)
    with atomic_output(target) as temporary:
        image.convert("RGB").save(temporary)
    return target


def write_preview(
    columns: Sequence[Sequence[Image.Image]],
    path: str | Path,
    fps: float,
    labels: Sequence[str] | None = None,
    min_height: int = 0,
) -> Path:
    """Write a side-by-side comparison of videos (e.g. source | edited) for a quick look.

    `.gif`/`.mp4`: frame i shows frame i of every column, for as many frames as the shortest
    multi-frame column; a one-image column is held still across all frames.
    `.png`: one row per column with up to 8 evenly spaced frames; a one-image column shows once.
    Columns are scaled to the first column's height; frames lower than `min_height` are enlarged by a
    whole factor, pixel for pixel, so small clips can be seen. Labels sit in a band above the frames,
    never on them. `fps` is unused for `.png`.
    """
    target = Path(path)
    _check_output_suffix(target, PREVIEW_SUFFIXES)
    tiles = _same_height_columns(columns, min_height)
    names = _checked_labels(labels, len(tiles))
    if target.suffix.lower() != ".png":
        return write_video(_side_by_side_frames(tiles, names), target, fps)
    with atomic_output(target) as temporary:
        _preview_strip(tiles, names).save(temporary, format="PNG")
    return target


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `target` (same suffix) and move it into place only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Named, not created: the writer creates it, so it gets normal permissions (mkstemp's are 0600).
    temporary = target.with_name(f".{target.stem}.tmp-{secrets.token_hex(4)}{target.suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _encode_gif(images: list[Image.Image], path: Path, fps: float) -> None:
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
    )


def _encode_mp4(images: list[Image.Image], path: Path, fps: float) -> None:
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
            f"encoding mp4 with '{encoder}' failed ({_one_line(error)}): "
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


def _same_height_columns(columns: Sequence[Sequence[Image.Image]], min_height: int) -> list[list[Image.Image]]:
    if not columns or any(len(column) == 0 for column in columns):
        raise AnyV2VError(
            "preview needs at least one column and every column needs at least one frame: "
            "pass non-empty frame lists (e.g. [source_frames, edited_frames])"
        )
    height = columns[0][0].height
    factor = max(1, math.ceil(min_height / height))
    return [[_enlarged(_scale_to_height(f.convert("RGB"), height), factor) for f in column] for column in columns]


def _enlarged(image: Image.Image, factor: int) -> Image.Image:
    if factor == 1:
        return image
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def _checked_labels(labels: Sequence[str] | None, count: int) -> list[str]:
    if labels is None:
        return [""] * count
    if len(labels) != count:
        raise AnyV2VError(f"preview got {len(labels)} labels for {count} columns: pass one label per column or none")
    return list(labels)


def _side_by_side_frames(columns: list[list[Image.Image]], labels: list[str]) -> list[Image.Image]:
    moving = [len(column) for column in columns if len(column) > 1]
    length = min(moving, default=1)
    return [
        _concat_horizontally(
            [
                _with_label(column[0] if len(column) == 1 else column[index], label)
                for column, label in zip(columns, labels, strict=True)
            ]
        )
        for index in range(length)
    ]


def _preview_strip(columns: list[list[Image.Image]], labels: list[str]) -> Image.Image:
    rows = []
    for column, label in zip(columns, labels, strict=True):
        shown = _evenly_spaced(column, PREVIEW_STRIP_FRAMES)
        rows.append(_with_label(_concat_horizontally(shown), label))
    return _concat_vertically(rows)


def _evenly_spaced(frames: list[Image.Image], count: int) -> list[Image.Image]:
    if len(frames) <= count:
        return frames
    last = len(frames) - 1
    return [frames[round(step * last / (count - 1))] for step in range(count)]


def _scale_to_height(image: Image.Image, height: int) -> Image.Image:
    if image.height == height:
        return image
    width = max(1, round(image.width * height / image.height))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _with_label(image: Image.Image, label: str) -> Image.Image:
    """`image` below a black band holding `label` in white; the image itself is left untouched."""
    if not label:
        return image
    labelled = Image.new("RGB", (image.width, image.height + LABEL_BAND))
    labelled.paste(image, (0, LABEL_BAND))
    ImageDraw.Draw(labelled).text((3, 2), label, fill="white", font=ImageFont.load_default())
    return labelled


def _concat_horizontally(images: list[Image.Image]) -> Image.Image:
    canvas = Image.new("RGB", (sum(image.width for image in images), max(image.height for image in images)))
    left = 0
    for image in images:
        canvas.paste(image, (left, 0))
        left += image.width
    return canvas


def _concat_vertically(images: list[Image.Image]) -> Image.Image:
    canvas = Image.new("RGB", (max(image.width for image in images), sum(image.height for image in images)))
    top = 0
    for image in images:
        canvas.paste(image, (0, top))
        top += image.height
    return canvas


# ---------------------------------------------------------------------------------------------- checks


def _existing_path(path: str | Path, what: str, fix: str) -> Path:
    source = Path(path).expanduser()
    if not source.exists():
        raise AnyV2VError(f"{what} '{source}' does not exist: {fix}")
    if source.is_file() and source.stat().st_size == 0:
        raise AnyV2VError(f"{what} '{source}' is empty (0 bytes): {fix}")
    return source


def _check_frame_count(num_frames: int) -> None:
    if num_frames < 1:
        raise AnyV2VError(f"num_frames must be at least 1, got {num_frames}: pass --num-frames 1 or more")


def _check_fps(fps: float) -> None:
    if not (math.isfinite(fps) and fps > 0):
        raise AnyV2VError(f"fps must be a positive number, got {fps}: pass e.g. --fps 8")


def _check_size(size: tuple[int, int]) -> None:
    if len(size) != 2 or min(size) < 1:
        raise AnyV2VError(f"size must be (height, width) with both at least 1, got {size}: pass e.g. (512, 512)")


def _check_enough_video_frames(path: Path, available: int, needed: int, fps: float) -> None:
    if available == 0:
        raise AnyV2VError(f"video '{path}' has no decodable frames: pass a non-empty video or re-encode it")
    if available < needed:
        raise AnyV2VError(
            f"video '{path}' has only {available} frames at {fps:g} fps, {needed} needed: "
            "lower --num-frames or --fps, or use a longer clip"
        )


def _check_enough_folder_frames(folder: Path, available: int, needed: int) -> None:
    if available < needed:
        raise AnyV2VError(
            f"folder '{folder}' has only {available} image frames, {needed} needed: "
            "lower --num-frames or add more frames"
        )


def _check_output_suffix(target: Path, supported: tuple[str, ...]) -> None:
    if target.suffix.lower() not in supported:
        raise AnyV2VError(
            f"cannot write '{target}': unsupported suffix '{target.suffix}', use one of {', '.join(supported)}"
        )


def _checked_frames(frames: Sequence[Image.Image], target: Path) -> list[Image.Image]:
    if not frames:
        raise AnyV2VError(f"no frames to write to '{target}': pass at least one frame")
    images = [frame.convert("RGB") for frame in frames]
    sizes = {image.size for image in images}
    if len(sizes) > 1:
        raise AnyV2VError(
            f"frames for '{target}' differ in size ({sorted(sizes)}): resize them all with fit_to_size first"
        )
    return images


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
