from __future__ import annotations

from PIL import Image

from anyv2v.editors import create_editor
from anyv2v.video import fit_to_size


def test_the_users_frame_is_fitted_like_the_video_frames(frame):
    drawn_at_source_resolution = Image.effect_mandelbrot((160, 90), (-2, -1, 1, 1), 50).convert("RGB")
    edited = create_editor("frame").edit(frame, references=[drawn_at_source_resolution])
    assert edited.tobytes() == fit_to_size(drawn_at_source_resolution, (frame.height, frame.width)).tobytes()
