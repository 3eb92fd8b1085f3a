"""Video and image input/output: fixed-size RGB frames in, atomic mp4/gif/png files out."""

from anyv2v.video.io import (
    IMAGE_SUFFIXES,
    PREVIEW_MIN_HEIGHT,
    PREVIEW_SUFFIXES,
    VIDEO_SUFFIXES,
    atomic_output,
    fit_to_size,
    read_image,
    read_video,
    write_image,
    write_preview,
    write_video,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "PREVIEW_MIN_HEIGHT",
    "PREVIEW_SUFFIXES",
    "VIDEO_SUFFIXES",
    "atomic_output",
    "fit_to_size",
    "read_image",
    "read_video",
    "write_image",
    "write_preview",
    "write_video",
]
