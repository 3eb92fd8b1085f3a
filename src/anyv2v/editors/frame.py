"""The user's own edited first frame, made with any tool: the editor behind `anyv2v edit --edited-frame`."""

from __future__ import annotations

from PIL import Image

from anyv2v.editors.base import Editor, EditRequest
from anyv2v.video import fit_to_size


class FrameEditor(Editor):
    name = "frame"
    kind = "file"
    description = "your own edited first frame (Photoshop, GIMP, any app): pass it as the reference"
    reference_count = (1, 1)

    def apply(self, frame: Image.Image, request: EditRequest) -> Image.Image:
        # Cover-resize and center-crop as the video's frames are, so a frame edited at the source's own
        # resolution lines up with the video.
        return fit_to_size(request.references[0], (frame.height, frame.width))
