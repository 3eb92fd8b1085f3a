from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.windows import Window, WindowStore, edit_in_windows, plan_windows, run_key


@pytest.mark.parametrize(
    ("frames", "length", "overlap", "spans"),
    [
        (16, 16, 1, [(0, 16)]),  # one window, as a short edit
        (10, 16, 1, [(0, 10)]),
        (31, 16, 1, [(0, 16), (15, 31)]),  # divides evenly: 16 + 15
        (40, 16, 1, [(0, 16), (15, 31), (24, 40)]),  # does not: the last window moves back
        (40, 16, 4, [(0, 16), (12, 28), (24, 40)]),
        (17, 16, 1, [(0, 16), (1, 17)]),
    ],
)
def test_windows_cover_the_span_with_the_overlap(frames, length, overlap, spans):
    windows = plan_windows(frames, length, overlap)
    assert [(w.start, w.stop) for w in windows] == spans
    assert [w.index for w in windows] == list(range(len(spans)))
    assert all(b.start <= a.stop - overlap for a, b in zip(windows, windows[1:], strict=False))


@pytest.mark.parametrize("overlap", [0, 16, -1])
def test_an_overlap_outside_the_window_is_a_one_line_error(overlap):
    with pytest.raises(AnyV2VError, match="overlap"):
        plan_windows(40, 16, overlap)


def frames_of(count: int, size: int = 8) -> list[Image.Image]:
    return [Image.fromarray(np.full((size, size, 3), 10 * i, dtype=np.uint8)) for i in range(count)]


class FakeEdit:
    """Adds the conditioning frame's value and a draw from the window's generator: enough to tell
    windows, their conditioning and their noise apart."""

    def __init__(self, fail_at: int | None = None):
        self.calls: list[tuple[int, int, bool]] = []
        self.fail_at = fail_at

    def __call__(self, frames, condition, anchor, generator) -> np.ndarray:
        if len(self.calls) == self.fail_at:
            raise KeyboardInterrupt
        self.calls.append((np.asarray(frames[0])[0, 0, 0], np.asarray(condition)[0, 0, 0], anchor is not None))
        noise = int(torch.randint(0, 5, (1,), generator=generator))
        shift = np.asarray(condition, dtype=np.int16)[0, 0, 0] // 2 + noise
        return np.stack([np.clip(np.asarray(f, dtype=np.int16) + shift, 0, 255).astype(np.uint8) for f in frames])


def test_each_window_continues_from_the_last_edited_frame_it_overlaps():
    frames, edited = frames_of(10), Image.fromarray(np.full((8, 8, 3), 100, dtype=np.uint8))
    edit = FakeEdit()
    video = edit_in_windows(frames, edited, edit, length=4, overlap=1, strategy="anchor")
    assert video.shape == (10, 8, 8, 3)
    assert [call[0] for call in edit.calls] == [0, 30, 60]  # windows at frames 0, 3, 6
    assert edit.calls[0][1] == 100 and not edit.calls[0][2]  # the user's frame, no anchor
    assert edit.calls[1][1] == video[3, 0, 0, 0] and edit.calls[1][2]  # the previous window's frame 3; anchored


def test_an_interrupted_run_resumes_to_the_same_video(tmp_path):
    frames, edited = frames_of(10), frames_of(1)[0]
    key = run_key(frames, edited, {"length": 4})
    whole = edit_in_windows(frames, edited, FakeEdit(), length=4, seed=3)
    with pytest.raises(KeyboardInterrupt):
        edit_in_windows(frames, edited, FakeEdit(fail_at=2), length=4, seed=3, store=WindowStore(tmp_path, key))
    resumed_edit = FakeEdit()
    resumed = edit_in_windows(frames, edited, resumed_edit, length=4, seed=3, store=WindowStore(tmp_path, key))
    assert len(resumed_edit.calls) == 1  # only the window that had not finished
    np.testing.assert_array_equal(resumed, whole)
    other = WindowStore(tmp_path, run_key(frames, edited, {"length": 5}))  # other settings: start afresh
    assert other.load(Window(0, 0, 4)) is None


def test_an_unknown_strategy_is_a_one_line_error():
    with pytest.raises(AnyV2VError, match="unknown window strategy 'blend'"):
        edit_in_windows(frames_of(4), frames_of(1)[0], FakeEdit(), length=4, strategy="blend")


def test_an_anchor_frame_changes_the_image_embedding_only(tiny_model):
    from anyv2v.pipeline import AnyV2VPipeline
    from tests.conftest import moving_square_frames

    pipe = AnyV2VPipeline.from_pretrained(str(tiny_model), progress=False, use_cache=False)
    fast = pipe.backbone.preset("fast")
    config = dataclasses.replace(
        fast,
        video=dataclasses.replace(fast.video, num_frames=4, fps=8.0, height=32, width=32),
        inversion=dataclasses.replace(fast.inversion, steps=10),
        sampling=dataclasses.replace(fast.sampling, steps=5),
    )  # every stage the anchor could touch, in a fifth of the preset's steps
    source = moving_square_frames(count=4)
    edited, anchor = moving_square_frames(count=1, colour=(40, 220, 40))[0], source[0]

    def run(anchor_frame):
        generator = torch.Generator().manual_seed(0)
        return pipe.edit(source, edited, "x", config=config, generator=generator, output_type="np",
                         anchor_frame=anchor_frame)  # fmt: skip

    plain, same, anchored = run(None), run(edited), run(anchor)
    np.testing.assert_allclose(same, plain, atol=1e-6)  # anchoring on the edited frame itself changes nothing
    assert np.abs(anchored - plain).max() > 1e-4
