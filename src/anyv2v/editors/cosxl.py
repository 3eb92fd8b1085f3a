"""CosXL Edit (Stability AI): an SDXL InstructPix2Pix trained with the EDM formulation and v-prediction.

Stability publishes it as one original-format checkpoint (stabilityai/cosxl, cosxl_edit.safetensors, gated: accept
the license on the hub and `hf auth login`). Such a file has no configs, so diffusers' `from_single_file` fetches
SDXL's configs from the hub to lay it out: the default and the `.safetensors`-file paths need to be online (or
have those configs cached). A diffusers-layout folder (e.g. that pipeline after `save_pretrained`) loads offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffusers import DiffusionPipeline, EDMEulerScheduler, StableDiffusionXLInstructPix2PixPipeline
from PIL import Image

from anyv2v.editors.base import EditRequest
from anyv2v.editors.diffusers_base import load_pipeline, loading_errors
from anyv2v.editors.instruct_pix2pix import InstructPix2PixEditor, InstructPix2PixOptions
from anyv2v.errors import AnyV2VError
from anyv2v.runtime import looks_like_path

# The sampler CosXL was trained for, as Stability's reference workflow and diffusers' CosXL example set it.
COSXL_SCHEDULER = {
    "sigma_min": 0.002,
    "sigma_max": 120.0,
    "sigma_data": 1.0,
    "prediction_type": "v_prediction",
    "sigma_schedule": "exponential",
}


@dataclass(frozen=True)
class CosXLEditOptions(InstructPix2PixOptions):
    steps: int = 20
    guidance_scale: float = 7.0
    resolution: int | None = 1024  # SDXL's training size
    # The checkpoint file inside a hub repo of single-file checkpoints; "" when `model` is a diffusers-layout repo.
    weight_name: str = "cosxl_edit.safetensors"


class CosXLEditEditor(InstructPix2PixEditor):
    name = "cosxl-edit"
    description = "CosXL Edit: SDXL InstructPix2Pix with EDM v-prediction, instruction edits at 1024 px"
    weights = ("stabilityai/cosxl",)
    pipeline_class = StableDiffusionXLInstructPix2PixPipeline
    required_parts = ("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler")
    Options = CosXLEditOptions

    def load(self, model: str) -> DiffusionPipeline:
        """A diffusers-layout folder or repo, a local single `.safetensors` file, or a file in a hub repo."""
        single_file = self._single_file(model)
        if single_file is None:
            pipe = load_pipeline(self.pipeline_class, model, self.required_parts, **self.load_arguments())
        else:
            with loading_errors(self.pipeline_class.__name__, single_file):
                pipe = self.pipeline_class.from_single_file(single_file, num_in_channels=8, **self.load_arguments())
        # The input image's latent is scaled like the noise latents, as CosXL was trained (is_cosxl_edit).
        pipe.is_cosxl_edit = True
        pipe.scheduler = EDMEulerScheduler(**COSXL_SCHEDULER)
        return pipe

    def _single_file(self, model: str) -> str | None:
        """What to pass to from_single_file, or None for a diffusers-layout model."""
        if looks_like_path(model):
            path = Path(model).expanduser()
            if path.suffix != ".safetensors":
                return None
            if not path.is_file():
                raise AnyV2VError(f"checkpoint '{path}' not found: pass an existing .safetensors file or a folder")
            return str(path)
        weight_name = self.options.weight_name
        if not weight_name:
            return None
        if not weight_name.endswith(".safetensors"):
            raise AnyV2VError(f"weight_name {weight_name!r} is not a .safetensors file: pickled weights are not loaded")
        return f"https://huggingface.co/{model}/blob/main/{weight_name}"

    def call_arguments(self, image: Image.Image, request: EditRequest) -> dict[str, Any]:
        # The SDXL pipeline would otherwise generate at its default 1024 x 1024, whatever the frame's shape.
        return {**super().call_arguments(image, request), "height": image.height, "width": image.width}
