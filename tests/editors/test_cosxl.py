from __future__ import annotations

import pytest
import torch
from diffusers import EDMEulerScheduler, StableDiffusionXLInstructPix2PixPipeline

from anyv2v.editors import create_editor
from anyv2v.errors import AnyV2VError


def test_a_diffusers_folder_edits_with_edm_v_prediction(tiny_cosxl_edit, frame):
    editor = create_editor("cosxl-edit", model=str(tiny_cosxl_edit), device="cpu", steps=2, resolution=32)
    assert isinstance(editor.pipe.scheduler, EDMEulerScheduler)
    assert editor.pipe.scheduler.config.prediction_type == "v_prediction"
    assert editor.pipe.is_cosxl_edit
    edited = editor.edit(frame, "make the square green", generator=torch.Generator().manual_seed(0))
    assert edited.size == frame.size  # edited at 36 x 28, about 32², then resized back


@pytest.fixture
def single_file_calls(monkeypatch, tiny_cosxl_edit):
    """Records from_single_file calls and answers with the tiny folder's pipeline (the real one needs the hub)."""
    calls = []

    def from_single_file(path, **arguments):
        calls.append((path, arguments))
        return StableDiffusionXLInstructPix2PixPipeline.from_pretrained(tiny_cosxl_edit, use_safetensors=True)

    monkeypatch.setattr(StableDiffusionXLInstructPix2PixPipeline, "from_single_file", from_single_file)
    return calls


def test_single_file_checkpoints_go_through_from_single_file(single_file_calls, tmp_path):
    checkpoint = tmp_path / "cosxl_edit.safetensors"
    checkpoint.write_bytes(b"stand-in")
    editor = create_editor("cosxl-edit", model=str(checkpoint), device="cpu")
    create_editor("cosxl-edit", device="cpu")  # the default: Stability's file on the hub
    assert [path for path, _ in single_file_calls] == [
        str(checkpoint),
        "https://huggingface.co/stabilityai/cosxl/blob/main/cosxl_edit.safetensors",
    ]
    assert single_file_calls[0][1] == {"num_in_channels": 8, "torch_dtype": torch.float32}
    assert editor.pipe.is_cosxl_edit and isinstance(editor.pipe.scheduler, EDMEulerScheduler)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weight_name": "cosxl_edit.ckpt"}, "is not a .safetensors file: pickled weights are not loaded"),
        ({"model": "./missing.safetensors"}, "checkpoint 'missing.safetensors' not found"),
    ],
)
def test_unusable_checkpoints_are_refused(single_file_calls, options, message):
    with pytest.raises(AnyV2VError, match=message):
        create_editor("cosxl-edit", device="cpu", **options)
    assert single_file_calls == []
