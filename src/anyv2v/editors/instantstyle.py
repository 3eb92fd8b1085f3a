"""Reference-based style transfer the InstantStyle way (Wang et al., 2024): SDXL with an IP-Adapter whose image
features are injected only into the block that carries style.

InstantStyle found that in SDXL the second attention of the first up block (`up_blocks.0.attentions.1`) carries
style (colors, strokes, material) while other blocks carry layout and content. Feeding the reference only there
takes its look without copying its content. The frame itself enters through img2img, which keeps its layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from diffusers import DiffusionPipeline, StableDiffusionXLImg2ImgPipeline
from PIL import Image
from transformers import CLIPVisionModelWithProjection

from anyv2v.editors.base import EditRequest
from anyv2v.editors.diffusers_base import DiffusersEditor, DiffusersOptions, load_pipeline, loading_errors
from anyv2v.errors import AnyV2VError
from anyv2v.runtime import looks_like_path


@dataclass(frozen=True)
class InstantStyleOptions(DiffusersOptions):
    steps: int = 30
    guidance_scale: float = 5.0
    resolution: int | None = 1024  # SDXL's training size
    strength: float = 0.75  # how much of the frame is redrawn: lower keeps more of its detail, higher more style
    scale: float = 1.0  # weight of the reference in the style block
    negative_prompt: str | None = None
    ip_adapter: str = "h94/IP-Adapter"  # hub id or local folder with the adapter and its image encoder
    ip_adapter_weight: str = "sdxl_models/ip-adapter_sdxl.safetensors"  # path inside `ip_adapter`
    image_encoder: str = "sdxl_models/image_encoder"  # folder inside `ip_adapter`


def style_block_scale(scale: float) -> dict:
    """`set_ip_adapter_scale` layout that feeds the reference to up block 0, attention 1 only (InstantStyle)."""
    return {"up": {"block_0": [0.0, scale, 0.0]}}


class InstantStyleEditor(DiffusersEditor):
    name = "instantstyle"
    description = "InstantStyle: restyle the frame like a reference image (SDXL + IP-Adapter in the style block)"
    instruction_use = "optional"
    instruction_help = "prompt describing the frame"
    reference_count = (1, 1)
    weights = ("stabilityai/stable-diffusion-xl-base-1.0", "h94/IP-Adapter")
    pipeline_class = StableDiffusionXLImg2ImgPipeline
    required_parts = ("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler")
    Options = InstantStyleOptions

    def load(self, model: str) -> DiffusionPipeline:
        options = self.options
        adapter = _checked_adapter(options.ip_adapter, options.ip_adapter_weight, options.image_encoder)
        weight = PurePosixPath(options.ip_adapter_weight)
        # Loaded here rather than by load_ip_adapter, which would accept pickled weights when no safetensors exist.
        with loading_errors("the IP-Adapter image encoder", f"{adapter}/{options.image_encoder}"):
            encoder = CLIPVisionModelWithProjection.from_pretrained(
                adapter, subfolder=options.image_encoder, use_safetensors=True, torch_dtype=self.dtype
            )
        pipe = load_pipeline(
            self.pipeline_class, model, self.required_parts, image_encoder=encoder, **self.load_arguments()
        )
        with loading_errors("the IP-Adapter", f"{adapter}/{weight}"):
            pipe.load_ip_adapter(
                adapter, subfolder=str(weight.parent), weight_name=weight.name, image_encoder_folder=None
            )
        pipe.set_ip_adapter_scale(style_block_scale(options.scale))
        return pipe

    def generate(self, image: Image.Image, request: EditRequest) -> Image.Image:
        options = self.options
        return self.pipe(
            prompt=request.instruction or "",
            image=image,
            ip_adapter_image=request.references[0],
            strength=options.strength,
            num_inference_steps=options.steps,
            guidance_scale=options.guidance_scale,
            negative_prompt=options.negative_prompt,
            generator=request.generator,
        ).images[0]


def _checked_adapter(adapter: str, weight: str, image_encoder: str) -> str:
    """The adapter location, after refusing pickled weights and, for a folder, naming any missing part."""
    if not weight.endswith(".safetensors"):
        raise AnyV2VError(f"ip_adapter_weight {weight!r} is not a .safetensors file: pickled weights are not loaded")
    if not looks_like_path(adapter):
        return adapter
    folder = Path(adapter).expanduser()
    missing = [part for part in (weight, image_encoder) if not (folder / part).exists()]
    if missing:
        raise AnyV2VError(
            f"IP-Adapter folder '{folder}' lacks {', '.join(missing)}: lay it out as h94/IP-Adapter or set "
            "--editor-option ip_adapter_weight=... / image_encoder=..."
        )
    return str(folder)
