"""I2VGenXL (ali-vilab/i2vgen-xl) built from diffusers' own components.

diffusers keeps I2VGenXLPipeline only as deprecated, so conditioning is encoded here the way that pipeline
encodes it (the equivalence test holds us to it), and the sampling loop lives in `anyv2v.sampling`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import transformers
from diffusers import AutoencoderKL, DDIMScheduler
from diffusers.models.unets import I2VGenXLUNet
from packaging.version import Version
from PIL import Image
from transformers import CLIPImageProcessor, CLIPTextModel, CLIPTokenizer, CLIPVisionModelWithProjection

from anyv2v.backbones.base import (
    Backbone,
    Condition,
    FrameEncoding,
    InjectionSites,
    Progress,
    check_model_folder,
    looks_like_path,
)
from anyv2v.config import InjectionConfig
from anyv2v.errors import AnyV2VError


@dataclass
class I2VGenXLCondition(Condition):
    text: torch.Tensor  # (B, tokens, dim) CLIP text states
    image_embeddings: torch.Tensor  # (B, 1, dim) CLIP image embedding of the first frame
    image_latents: torch.Tensor  # (B, C, F, h, w) first-frame latent, then a frame-position ramp
    fps: torch.Tensor  # (B,)


class I2VGenXL(Backbone):
    name = "i2vgen-xl"
    default_model = "ali-vilab/i2vgen-xl"
    required_subfolders = (
        "unet", "vae", "text_encoder", "tokenizer", "image_encoder", "feature_extractor", "scheduler",
    )  # fmt: skip
    clip_skip = 1  # the penultimate text layer, as the model was trained

    def __init__(
        self,
        unet: I2VGenXLUNet,
        vae: AutoencoderKL,
        text_encoder: CLIPTextModel,
        tokenizer: CLIPTokenizer,
        image_encoder: CLIPVisionModelWithProjection,
        feature_extractor: CLIPImageProcessor,
        scheduler_config: dict,
        device: torch.device,
    ):
        self.unet, self.vae = unet, vae
        self.text_encoder, self.tokenizer = text_encoder, tokenizer
        self.image_encoder, self.feature_extractor = image_encoder, feature_extractor
        self.scheduler_config = dict(scheduler_config)
        self.device = device
        self.dtype = unet.dtype
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)

    @classmethod
    def from_pretrained(
        cls, model: str, *, dtype: torch.dtype, device: torch.device, variant: str | None = None
    ) -> I2VGenXL:
        if looks_like_path(model):
            model = str(Path(model).expanduser())
            check_model_folder(Path(model), cls.required_subfolders)
        try:
            diffusers_kwargs = {"torch_dtype": dtype, "variant": variant, "use_safetensors": True}
            transformers_kwargs = {_transformers_dtype_kwarg(): dtype, "variant": variant, "use_safetensors": True}
            parts = {
                "unet": I2VGenXLUNet.from_pretrained(model, subfolder="unet", **diffusers_kwargs),
                "vae": AutoencoderKL.from_pretrained(model, subfolder="vae", **diffusers_kwargs),
                "text_encoder": CLIPTextModel.from_pretrained(model, subfolder="text_encoder", **transformers_kwargs),
                "image_encoder": CLIPVisionModelWithProjection.from_pretrained(
                    model, subfolder="image_encoder", **transformers_kwargs
                ),
                "tokenizer": CLIPTokenizer.from_pretrained(model, subfolder="tokenizer"),
                "feature_extractor": CLIPImageProcessor.from_pretrained(model, subfolder="feature_extractor"),
                "scheduler_config": DDIMScheduler.load_config(model, subfolder="scheduler"),
            }
        except (OSError, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise AnyV2VError(
                f"could not load I2VGenXL from '{model}' ({reason}): check the hub id or pass a local folder "
                "in diffusers layout"
            ) from None
        for module in (parts["unet"], parts["vae"], parts["text_encoder"], parts["image_encoder"]):
            module.to(device).eval().requires_grad_(False)
        return cls(**parts, device=device)

    def models(self) -> list[torch.nn.Module]:
        return [self.text_encoder, self.image_encoder, self.unet, self.vae]

    @torch.no_grad()
    def encode_text(self, prompt: str) -> torch.Tensor:
        tokens = self.tokenizer(
            [prompt], padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True,
            return_tensors="pt",
        )  # fmt: skip
        mask = (
            tokens.attention_mask.to(self.device)
            if getattr(self.text_encoder.config, "use_attention_mask", False)
            else None
        )
        output = self.text_encoder(tokens.input_ids.to(self.device), attention_mask=mask, output_hidden_states=True)
        states = output.hidden_states[-(self.clip_skip + 1)]
        # transformers 5 put the final norm on CLIPTextModel itself; transformers 4 keeps it on .text_model.
        final_norm = getattr(self.text_encoder, "text_model", self.text_encoder).final_layer_norm
        return final_norm(states).to(self.dtype)

    @torch.no_grad()
    def encode_frame(self, frame: Image.Image, *, sample: bool, generator: torch.Generator | None) -> FrameEncoding:
        pixels = _to_pixels(frame).to(self.device, self.dtype)
        return FrameEncoding(
            embedding=self._embed_image(frame),
            latent=self._encode_pixels(pixels, sample=sample, generator=generator).unsqueeze(2),
        )

    def condition(
        self, text: torch.Tensor, frame: FrameEncoding, num_frames: int, fps: float, *, drop_image: bool = False
    ) -> I2VGenXLCondition:
        embedding = torch.zeros_like(frame.embedding) if drop_image else frame.embedding
        return I2VGenXLCondition(
            text=text,
            image_embeddings=embedding,
            image_latents=_with_position_ramp(frame.latent, num_frames),
            fps=torch.tensor([fps], device=self.device),
        )

    @torch.no_grad()
    def encode_video(
        self, frames: list[Image.Image], *, sample: bool, generator: torch.Generator | None, chunk_size: int = 8
    ) -> torch.Tensor:
        pixels = torch.cat([_to_pixels(frame) for frame in frames])
        latents = torch.cat(
            [
                self._encode_pixels(pixels[i : i + chunk_size].to(self.device, self.dtype), sample, generator)
                for i in range(0, len(frames), chunk_size)
            ]
        )
        return latents.permute(1, 0, 2, 3).unsqueeze(0)

    @torch.no_grad()
    def decode_video(self, latents: torch.Tensor, chunk_size: int, progress: Progress) -> torch.Tensor:
        latents = latents / self.vae.config.scaling_factor
        batch, channels, frames, height, width = latents.shape
        flat = latents.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)
        chunks = [flat[i : i + chunk_size] for i in range(0, len(flat), chunk_size)]
        images = torch.cat([self.vae.decode(chunk).sample.float() for chunk in progress(chunks, "decode")])
        return (images / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)

    @torch.no_grad()
    def predict(self, latents: torch.Tensor, timestep: torch.Tensor, condition: I2VGenXLCondition) -> torch.Tensor:
        return self.unet(
            latents,
            timestep,
            encoder_hidden_states=condition.text,
            fps=condition.fps,
            image_latents=condition.image_latents,
            image_embeddings=condition.image_embeddings,
            return_dict=False,
        )[0]

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, ...]:
        factor = self.vae_scale_factor
        return (1, self.unet.config.in_channels, num_frames, height // factor, width // factor)

    def injection_sites(self, config: InjectionConfig) -> InjectionSites:
        """ResNet second convolutions, and q/k projections of spatial and temporal self-attention."""
        return InjectionSites(
            conv=[self._up_block_layer(block, "resnets", layer).conv2 for block, layer in config.conv_sites],
            spatial_attention=self._query_key_projections(config.attention_sites, "attentions"),
            temporal_attention=self._query_key_projections(config.attention_sites, "temp_attentions"),
        )

    def _query_key_projections(self, sites: tuple[tuple[int, int], ...], kind: str) -> list[torch.nn.Module]:
        return [
            projection
            for block, layer in sites
            for transformer_block in self._up_block_layer(block, kind, layer).transformer_blocks
            for projection in (transformer_block.attn1.to_q, transformer_block.attn1.to_k)
        ]

    def _up_block_layer(self, block: int, kind: str, layer: int) -> torch.nn.Module:
        try:
            return getattr(self.unet.up_blocks[block], kind)[layer]
        except (IndexError, AttributeError, TypeError):
            raise AnyV2VError(
                f"injection site up_blocks[{block}].{kind}[{layer}] does not exist in this UNet: "
                "fix injection.conv_sites / injection.attention_sites"
            ) from None

    def _embed_image(self, frame: Image.Image) -> torch.Tensor:
        """CLIP image embedding of the frame's central square, at the image encoder's input size."""
        crop = self.feature_extractor.crop_size
        side = min(frame.size)
        left, top = (frame.width - side) // 2, (frame.height - side) // 2
        square = frame.crop((left, top, left + side, top + side)).resize(
            (crop["width"], crop["height"]), Image.BILINEAR
        )
        pixels = torch.from_numpy(np.asarray(square.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)
        mean = torch.tensor(self.feature_extractor.image_mean).view(3, 1, 1)
        std = torch.tensor(self.feature_extractor.image_std).view(3, 1, 1)
        pixels = ((pixels - mean) / std).unsqueeze(0).to(self.device, self.image_encoder.dtype)
        return self.image_encoder(pixels).image_embeds.unsqueeze(1).to(self.dtype)

    def _encode_pixels(self, pixels: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        posterior = self.vae.encode(pixels).latent_dist
        latents = posterior.sample(generator) if sample else posterior.mean
        return latents * self.vae.config.scaling_factor


def _to_pixels(frame: Image.Image) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1], the VAE's input range."""
    array = np.asarray(frame.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0) * 2.0 - 1.0


def _with_position_ramp(first_latent: torch.Tensor, num_frames: int) -> torch.Tensor:
    """I2VGenXL's image latents: the first frame's latent, then constant maps rising to 1 over the frames."""
    ramp = [torch.ones_like(first_latent) * ((i + 1) / (num_frames - 1)) for i in range(num_frames - 1)]
    return torch.cat([first_latent, *ramp], dim=2)


def _transformers_dtype_kwarg() -> str:
    """transformers renamed `torch_dtype` to `dtype` in 4.56; support both sides of the rename."""
    return "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
