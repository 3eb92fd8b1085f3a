from __future__ import annotations

import torch

from anyv2v.editors import create_editor, get_editor


def test_loads_a_diffusers_folder_and_edits_at_the_frames_size(tiny_flux_kontext, frame):
    editor = create_editor("flux-kontext", model=str(tiny_flux_kontext), device="cpu", steps=2, resolution=32)
    assert editor.size_multiple == 2  # the tiny VAE does not downsample; latents are packed 2 x 2
    edited = editor.edit(frame, "make the square green", generator=torch.Generator().manual_seed(0))
    assert edited.size == frame.size and edited.mode == "RGB"


def test_uses_bfloat16_on_gpus():
    editor = get_editor("flux-kontext")
    assert editor.cuda_dtype == torch.bfloat16
    assert editor.weights == ("black-forest-labs/FLUX.1-Kontext-dev",)
