"""Read clips and images into fixed-size RGB frames; every input problem is a one-line AnyV2VError with its fix."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
from PIL import Image, UnidentifiedImageError

from anyv2v.errors import AnyV2VError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")

# Tolerance for timestamps that land a hair after a target time because of time-base rounding.
_PTS_SLACK_S = 1e-3


def read_video(path: str | Path, num_frames: int, fps: float, size: tuple[int, int]) -> list[Image.Image]:
    """Return `num_frames` RGB frames of `size` (height, width) sampled at `fps` from the clip's start.

    A folder of images is taken as consecutive frames (the first `num_frames` in natural order).
    """
    _check_frame_count(num_frames)
    check_fps(fps)
    _check_size(size)
    source = _existing_path(path, "input video", "pass an existing video file or a folder of frames")
    if source.is_dir():
        files = _image_files(source)
        _check_enough_folder_frames(source, len(files), num_frames)
        frames = [read_image(file) for file in files[:num_frames]]
    else:
        frames = _sample_video_file(source, num_frames, fps)
        _check_enough_video_frames(source, len(frames), num_frames, fps)
    return [fit_to_size(frame, size) for frame in frames]


def read_span(path: str | Path, fps: float, *, start: float = 0.0, end: float | None = None) -> list[Image.Image]:
    """The frames shown at times start + i / fps up to `end` seconds, or to the end of the video, at their own
    size (a folder of frames: frame i is at time i / fps)."""
    check_fps(fps)
    if start < 0 or (end is not None and end <= start):
        raise AnyV2VError(f"the span {start:g} s to {end if end is not None else 'the end'} is empty or negative: "
                          "pass 0 <= --start < --end")  # fmt: skip
    count = math.inf if end is None else max(1, math.ceil((end - start) * fps - 1e-9))
    source = _existing_path(path, "input video", "pass an existing video file or a folder of frames")
    if source.is_dir():
        first = round(start * fps)
        frames = [read_image(f) for f in _image_files(source)[first : None if end is None else first + count]]
    else:
        frames = _sample_video_file(source, count, fps, start)
    if not frames or (end is not None and len(frames) < count):
        shown = "no frame" if not frames else f"only {len(frames)} frames"
        raise AnyV2VError(
            f"'{source}' has {shown} from {start:g} s to {end if end is not None else 'its end'} at {fps:g} fps: "
            "pass a --start and --end inside the video"
        )
    return frames


def read_clip(path: str | Path) -> tuple[list[Image.Image], float | None]:
    """Every frame of a video file and its frame rate, or every image of a folder (no rate): an output to
    score is taken whole, as it was written."""
    source = _existing_path(path, "video", "pass an existing video file or a folder of frames")
    if source.is_dir():
        return [read_image(file) for file in _image_files(source)], None
    try:
        with av.open(str(source)) as container:
            stream = _first_video_stream(container, source)
            rate = stream.average_rate or stream.guessed_rate
            frames = [frame.to_image() for frame in container.decode(stream)]
    except av.error.FFmpegError as error:
        raise AnyV2VError(
            f"cannot read video '{source}' ({one_line(error)}): pass a valid video or a folder of frames"
        ) from error
    if not frames:
        raise AnyV2VError(f"video '{source}' has no frames: pass a video with frames")
    return frames, float(rate) if rate else None


@dataclass(frozen=True)
class VideoInfo:
    """What a person choosing a span needs to know of a video file."""

    duration: float  # seconds
    fps: float
    width: int
    height: int
    frames: int


def probe_video(path: str | Path) -> VideoInfo:
    """Length, rate, size and frame count of a video file, from its header where it says them; the first frame
    is decoded too, so that a file that only looks like a video (corrupt, truncated) is refused here."""
    source = _existing_path(path, "video", "upload a video file (mp4, webm, mov, mkv, avi, gif)")
    try:
        with av.open(str(source)) as container:
            stream = _first_video_stream(container, source)
            first = next(container.decode(stream), None)
            if first is None:
                raise AnyV2VError(f"video '{source.name}' has no frames: pass a video with frames")
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            duration = _stated_duration(container, stream)
            frames = stream.frames
            if not (rate and duration and frames):  # a header that says too little (GIFs): count the frames
                times = [time for time, _ in _timed_frames(container, stream, source)]
                frames = len(times) + 1
                duration = max(times[-1] - (first.time or 0.0), 0.0) + 1 / rate if times and rate else duration
    except av.error.FFmpegError as error:  # its strerror says what is wrong without the file's (temporary) path
        raise AnyV2VError(
            f"cannot read '{source.name}' as a video ({error.strerror or one_line(error)}): upload an mp4, webm, mov, "
            "mkv, avi or gif"
        ) from error
    if frames < 2:
        raise AnyV2VError(f"'{source.name}' holds a single picture, not a video: upload a video file")
    if not rate or not duration:
        raise AnyV2VError(f"video '{source.name}' states no frame rate or length: re-encode it (ffmpeg -i in out.mp4)")
    return VideoInfo(duration, rate, first.width, first.height, frames)


def _stated_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration else None


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
            f"cannot read image '{source}' ({one_line(error)}): "
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


def _sample_video_file(path: Path, num_frames: float, fps: float, start: float = 0.0) -> list[Image.Image]:
    """Decode only as far as needed to pick the frames shown at times start + i / fps (`num_frames` may be
    infinite: to the end)."""
    try:
        with av.open(str(path)) as container:
            stream = _first_video_stream(container, path)
            stream.thread_type = "AUTO"
            picked = _sample_at_fps(_timed_frames(container, stream, path), num_frames, fps, start)
            images = [frame.to_image() for frame in picked]
    except av.error.EOFError as error:  # what FFmpeg reports for a container whose stream holds no frames
        raise AnyV2VError(
            f"video '{path}' ends before its first frame (no frames, or truncated): pass a video with frames"
        ) from error
    except av.error.FFmpegError as error:
        raise AnyV2VError(
            f"cannot read video '{path}' ({one_line(error)}): pass a valid video "
            "(mp4, webm, mov, mkv, avi, gif) or a folder of frames, or re-encode it with ffmpeg"
        ) from error
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
    timed_frames: Iterable[tuple[float, av.VideoFrame]], num_frames: float, fps: float, start: float = 0.0
) -> list[av.VideoFrame]:
    """Pick, for each target time start + i / fps, the last frame shown at or before it.

    A frame is known to answer a target only once the next frame arrives later than that
    target, so decoding stops one frame past the last target. Targets beyond the last
    frame's time are not available; the caller reports how many were.
    """
    picked: list[av.VideoFrame] = []
    first_time: float | None = None
    held: av.VideoFrame | None = None
    held_elapsed = 0.0
    for time, frame in timed_frames:
        first_time = time if first_time is None else first_time
        elapsed = time - first_time
        # This frame comes after the next target, so the held frame is the one shown then.
        while held is not None and len(picked) < num_frames and elapsed > start + len(picked) / fps + _PTS_SLACK_S:
            picked.append(held)
        if len(picked) == num_frames:
            return picked
        held, held_elapsed = frame, elapsed
    # End of stream: the last frame still answers targets up to its own time.
    while held is not None and len(picked) < num_frames and start + len(picked) / fps - _PTS_SLACK_S <= held_elapsed:
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


def check_fps(fps: float) -> None:
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


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
