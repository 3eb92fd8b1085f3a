"""FLUX.1 Kontext [dev] (Black Forest Labs, 2025): a 12B rectified-flow transformer that edits an image by
instruction, reading the frame's tokens in context. The hub repo is gated: accept its license, then
`hf auth login`. Its T5 tokenizer ships as tokenizer.json, so no sentencepiece is needed."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import FluxKontextPipeline
from PIL import Image

from anyv2v.editors.base import EditRequest
from anyv2v.editors.diffusers_base import DiffusersEditor, DiffusersOptions


@dataclass(frozen=True)
class FluxKontextOptions(DiffusersOptions):
    steps: int = 28
    guidance_scale: float = 2.5  # distilled guidance, an input of the model (not classifier-free)
    resolution: int | None = 1024  # Kontext is trained around one megapixel
    max_sequence_length: int = 512  # T5 tokens of the instruction


class FluxKontextEditor(DiffusersEditor):
    name = "flux-kontext"
    description = "FLUX.1 Kontext [dev]: state-of-the-art instruction edits that keep identity and layout"
    instruction_use = "required"
    weights = ("black-forest-labs/FLUX.1-Kontext-dev",)
    pipeline_class = FluxKontextPipeline
    required_parts = ("transformer", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler")
    cuda_dtype = torch.bfloat16  # FLUX overflows in float16
    Options = FluxKontextOptions

    @property
    def size_multiple(self) -> int:
        return self.pipe.vae_scale_factor * 2  # latents are packed in 2 x 2 patches

    def generate(self, image: Image.Image, request: EditRequest) -> Image.Image:
        options = self.options
        return self.pipe(
            image=image,
            prompt=request.instruction,
            height=image.height,
            width=image.width,
            # Generate at the working size we chose: the pipeline would otherwise snap the input to its own
            # preferred resolutions and the output to max_area's.
            max_area=image.width * image.height,
            _auto_resize=False,
            num_inference_steps=options.steps,
            guidance_scale=options.guidance_scale,
            max_sequence_length=options.max_sequence_length,
            generator=request.generator,
        ).images[0]
