"""InstructPix2Pix (Brooks et al., 2023) and MagicBrush (Zhang et al., 2023): the same Stable Diffusion 1.5
pipeline, conditioned on the frame's latent and the instruction; MagicBrush is fine-tuned on human edits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffusers import StableDiffusionInstructPix2PixPipeline
from PIL import Image

from anyv2v.editors.base import EditRequest
from anyv2v.editors.diffusers_base import DiffusersEditor, DiffusersOptions, first_image


@dataclass(frozen=True)
class InstructPix2PixOptions(DiffusersOptions):
    image_guidance_scale: float = 1.5  # how closely the result follows the source frame
    negative_prompt: str | None = None


class InstructPix2PixEditor(DiffusersEditor):
    name = "instruct-pix2pix"
    description = "InstructPix2Pix: edits by instruction ('make it winter', 'turn him into a statue')"
    instruction_use = "required"
    weights = ("timbrooks/instruct-pix2pix",)
    pipeline_class = StableDiffusionInstructPix2PixPipeline
    required_parts = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
    Options = InstructPix2PixOptions

    def generate(self, image: Image.Image, request: EditRequest) -> Image.Image:
        return first_image(self.pipe(**self.call_arguments(image, request)), self.name)

    def call_arguments(self, image: Image.Image, request: EditRequest) -> dict[str, Any]:
        options = self.options
        return {
            "prompt": request.instruction,
            "image": image,
            "num_inference_steps": options.steps,
            "guidance_scale": options.guidance_scale,
            "image_guidance_scale": options.image_guidance_scale,
            "negative_prompt": options.negative_prompt,
            "generator": request.generator,
        }


class MagicBrushEditor(InstructPix2PixEditor):
    name = "magicbrush"
    description = "MagicBrush: InstructPix2Pix fine-tuned on human-annotated edits, more faithful local edits"
    weights = ("vinesmsuic/magicbrush-jul7",)
