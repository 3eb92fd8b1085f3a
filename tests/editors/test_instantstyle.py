from __future__ import annotations

import shutil

import pytest
import torch
from diffusers.models.attention_processor import IPAdapterAttnProcessor2_0

from anyv2v.editors import create_editor
from anyv2v.errors import AnyV2VError
from tests.editors.conftest import square_on_background


def instantstyle(sdxl, adapter, **options):
    return create_editor(
        "instantstyle", model=str(sdxl), ip_adapter=str(adapter), device="cpu", steps=4, resolution=32, **options
    )


def test_the_reference_reaches_only_the_style_block(tiny_sdxl, tiny_ip_adapter):
    editor = instantstyle(tiny_sdxl, tiny_ip_adapter, scale="0.8")
    scales = {
        name: processor.scale
        for name, processor in editor.pipe.unet.attn_processors.items()
        if isinstance(processor, IPAdapterAttnProcessor2_0)
    }
    styled = {name for name, scale in scales.items() if scale != [0.0]}
    assert len(scales) > 3
    assert styled and all(name.startswith("up_blocks.0.attentions.1.") for name in styled)
    assert all(scales[name] == [0.8] for name in styled)


def test_edits_the_frame_like_the_reference(tiny_sdxl, tiny_ip_adapter, frame):
    editor = instantstyle(tiny_sdxl, tiny_ip_adapter)
    reference = square_on_background((24, 24), square=(250, 250, 0), background=(10, 10, 10))
    edited = editor.edit(frame, "a square", [reference], generator=torch.Generator().manual_seed(0))
    assert edited.size == frame.size


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("pickled weight", "is not a .safetensors file: pickled weights are not loaded"),
        ("no image encoder", r"lacks sdxl_models/image_encoder: lay it out as h94/IP-Adapter"),
    ],
)
def test_unusable_adapters_are_refused(tiny_sdxl, tiny_ip_adapter, tmp_path, change, message):
    adapter = shutil.copytree(tiny_ip_adapter, tmp_path / "adapter")
    options = {}
    if change == "pickled weight":
        options["ip_adapter_weight"] = "sdxl_models/ip-adapter_sdxl.bin"
    else:
        shutil.rmtree(adapter / "sdxl_models" / "image_encoder")
    with pytest.raises(AnyV2VError, match=message):
        instantstyle(tiny_sdxl, adapter, **options)
