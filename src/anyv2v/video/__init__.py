"""Video and image input/output: fixed-size RGB frames in, atomic mp4/gif/png files out."""

from anyv2v.video.io import (
    file_content_hash,
    fit_to_size,
    read_image,
    read_video,
    write_preview,
    write_video,
)

__all__ = [
    "file_content_hash",
    "fit_to_size",
    "read_image",
    "read_video",
    "write_preview",
    "write_video",
]
