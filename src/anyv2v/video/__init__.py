"""Video and image input/output: fixed-size RGB frames in (read.py), atomic mp4/gif/png files out (write.py),
side-by-side previews (preview.py)."""

from anyv2v.video.preview import PREVIEW_MIN_HEIGHT, PREVIEW_SUFFIXES, write_preview
from anyv2v.video.read import (
    IMAGE_SUFFIXES,
    VideoInfo,
    fit_to_size,
    probe_video,
    read_clip,
    read_image,
    read_span,
    read_video,
)
from anyv2v.video.write import VIDEO_SUFFIXES, write_image, write_video

__all__ = [
    "IMAGE_SUFFIXES",
    "PREVIEW_MIN_HEIGHT",
    "PREVIEW_SUFFIXES",
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "fit_to_size",
    "probe_video",
    "read_clip",
    "read_image",
    "read_span",
    "read_video",
    "write_image",
    "write_preview",
    "write_video",
]
