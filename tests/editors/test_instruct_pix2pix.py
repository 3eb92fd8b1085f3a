from __future__ import annotations

import pytest
import torch

from anyv2v.editors import create_editor, get_editor
from anyv2v.errors import AnyV2VError


@pytest.mark.parametrize("name", ["instruct-pix2pix", "magicbrush"])
def test_loads_a_diffusers_folder_and_edits_at_the_frames_size(tiny_instruct_pix2pix, frame, name):
    editor = create_editor(name, model=str(tiny_instruct_pix2pix), device="cpu", steps="2", progress="false")
    first = editor.edit(frame, "make the square green", generator=torch.Generator().manual_seed(0))
    again = editor.edit(frame, "make the square green", generator=torch.Generator().manual_seed(0))
    assert first.size == frame.size and first.mode == "RGB"
    assert first.tobytes() == again.tobytes()
    assert editor.pipe.unet.dtype == torch.float32  # half precision is a GPU default only


def test_default_weights_are_the_hub_checkpoints():
    assert get_editor("instruct-pix2pix").weights == ("timbrooks/instruct-pix2pix",)
    assert get_editor("magicbrush").weights == ("vinesmsuic/magicbrush-jul7",)


def test_an_instruction_is_required(tiny_instruct_pix2pix, frame):
    editor = create_editor("instruct-pix2pix", model=str(tiny_instruct_pix2pix), device="cpu", progress=False)
    with pytest.raises(AnyV2VError, match="needs an instruction"):
        editor.edit(frame)
