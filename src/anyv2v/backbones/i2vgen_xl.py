"""I2VGen-XL (ali-vilab/i2vgen-xl), built from diffusers' own components: the paper's main backbone.

diffusers keeps I2VGenXLPipeline only as deprecated, so conditioning is encoded here the way that pipeline
encodes it (the equivalence test holds us to it); sampling and inversion are the generic ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from anyv2v.backbones.base import (
    Backbone,
    Condition,
    FrameEncoding,
    InjectionKind,
    Progress,
    no_grad,
)
from anyv2v.config import EditConfig, VideoConfig
from anyv2v.noise import DiffusionProcess

if TYPE_CHECKING:  # loaded with the model, not at import: the command line starts without them
    import torch
    from diffusers import AutoencoderKL
    from diffusers.models.unets import I2VGenXLUNet
    from transformers import CLIPTextModel, CLIPTokenizer, CLIPVisionModelWithProjection

    from anyv2v.backbones.base import ImageNormalization

# The paper's sites: ResNet 1 of up block 1; self-attention layers 1-2 of up block 1 and 0-2 of up blocks 2-3.
_PAPER_ATTENTION_LAYERS = ("up_blocks.1.{kind}.[12]", "up_blocks.[23].{kind}.[012]")


def _query_key_sites(kind: str) -> tuple[str, ...]:
    return tuple(f"{layer.format(kind=kind)}.transformer_blocks.*.attn1.to_[qk]" for layer in _PAPER_ATTENTION_LAYERS)


INJECTION_KINDS = {
    "conv": InjectionKind(("up_blocks.1.resnets.1.conv2",), 0.2, "decoder ResNet features (second conv)", "conv"),
    "spatial_attention": InjectionKind(
        _query_key_sites("attentions"), 0.2, "spatial self-attention queries and keys", "spatial"
    ),
    "temporal_attention": InjectionKind(
        _query_key_sites("temp_attentions"), 0.5, "temporal self-attention queries and keys", "temporal"
    ),
}

REFERENCE = EditConfig()  # the config defaults are the official recipe (../shared/official-recipe.md)

# The default: the reference recipe with a tenth of the inversion steps, taken by the second-order solver, and
# half the sampling steps, starting at the reference's first sampled timestep (961: timesteps[0] of 25 steps,
# timesteps[1] of 50). Measured costs and scores against the reference: docs/bench/speed.md.
FAST = dataclasses.replace(
    REFERENCE,
    inversion=dataclasses.replace(REFERENCE.inversion, steps=50, solver="second-order"),
    sampling=dataclasses.replace(REFERENCE.sampling, steps=25, start_step=0),
)


def for_toy_model(config: EditConfig) -> EditConfig:
    """A recipe at the toy model's size (anyv2v/toy), with the empty negative prompt it was trained with and
    the milder guidance it takes; the step counts, injection and everything else stay the recipe's."""
    return dataclasses.replace(
        config,
        video=VideoConfig(num_frames=8, fps=8.0, height=32, width=32),
        sampling=dataclasses.replace(config.sampling, negative_prompt="", guidance_scale=3.0),
    )


@dataclass
class I2VGenXLCondition(Condition):
    text: torch.Tensor  # (B, tokens, dim) CLIP text states
    image_embeddings: torch.Tensor  # (B, 1, dim) CLIP image embedding of the first frame
    image_latents: torch.Tensor  # (B, C, F, h, w) first-frame latent, then a frame-position ramp
    fps: torch.Tensor  # (B,)


class I2VGenXL(Backbone):
    name = "i2vgen-xl"
    default_model = "ali-vilab/i2vgen-xl"
    components = {
        "text_encoder": "transformers.CLIPTextModel",
        "image_encoder": "transformers.CLIPVisionModelWithProjection",
        "unet": "diffusers.models.unets.I2VGenXLUNet",
        "vae": "diffusers.AutoencoderKL",
        "tokenizer": "transformers.CLIPTokenizer",
        "feature_extractor": "anyv2v.backbones.base.ImageNormalization",
        "scheduler": "diffusers.DDIMScheduler",
    }
    denoiser = "unet"
    latent_layout = "BCFHW"
    injection_kinds = INJECTION_KINDS
    presets = {"reference": REFERENCE, "fast": FAST, "toy": for_toy_model(FAST)}
    size_multiple = 8
    default_preset = "fast"
    toy_settings = staticmethod(for_toy_model)
    clip_skip = 1  # the penultimate text layer, as the model was trained

    def __init__(
        self,
        unet: I2VGenXLUNet,
        vae: AutoencoderKL,
        text_encoder: CLIPTextModel,
        tokenizer: CLIPTokenizer,
        image_encoder: CLIPVisionModelWithProjection,
        feature_extractor: ImageNormalization,
        scheduler: dict,
        device: torch.device,
    ):
        self.unet, self.vae = unet, vae
        self.text_encoder, self.tokenizer = text_encoder, tokenizer
        self.image_encoder, self.feature_extractor = image_encoder, feature_extractor
        self.scheduler = dict(scheduler)
        self.process = DiffusionProcess(self.scheduler)
        self.device = device
        self.dtype = unet.dtype
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)

    @no_grad
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

    @no_grad
    def encode_frame(self, frame: Image.Image, *, sample: bool, generator: torch.Generator | None) -> FrameEncoding:
        pixels = _to_pixels(frame).to(self.device, self.dtype)
        return FrameEncoding(
            embedding=self.embed_image(frame),
            latent=self._encode_pixels(pixels, sample=sample, generator=generator).unsqueeze(2),
        )

    def condition(
        self, prompt: str, frame: FrameEncoding, video: VideoConfig, *, negative: bool = False
    ) -> I2VGenXLCondition:
        """The negative branch has the negative prompt and a zeroed image embedding, as I2VGenXLPipeline."""
        import torch

        return I2VGenXLCondition(
            text=self.encode_text(prompt),
            image_embeddings=torch.zeros_like(frame.embedding) if negative else frame.embedding,
            image_latents=_with_position_ramp(frame.latent, video.num_frames),
            fps=torch.tensor([video.fps], device=self.device),
        )

    @no_grad
    def encode_video(
        self, frames: list[Image.Image], *, sample: bool, generator: torch.Generator | None, chunk_size: int = 8
    ) -> torch.Tensor:
        import torch

        pixels = torch.cat([_to_pixels(frame) for frame in frames])
        latents = torch.cat(
            [
                self._encode_pixels(pixels[i : i + chunk_size].to(self.device, self.dtype), sample, generator)
                for i in range(0, len(frames), chunk_size)
            ]
        )
        return latents.permute(1, 0, 2, 3).unsqueeze(0)

    @no_grad
    def decode_video(self, latents: torch.Tensor, chunk_size: int, progress: Progress) -> torch.Tensor:
        import torch

        latents = latents / self.vae.config.scaling_factor
        batch, channels, frames, height, width = latents.shape
        flat = latents.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)
        chunks = [flat[i : i + chunk_size] for i in range(0, len(flat), chunk_size)]
        images = torch.cat([self.vae.decode(chunk).sample.float() for chunk in progress(chunks, "decode")])
        return (images / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)

    def denoise(self, latents: torch.Tensor, timestep: torch.Tensor, condition: I2VGenXLCondition) -> torch.Tensor:
        return self.unet(
            latents,
            timestep,
            encoder_hidden_states=condition.text,
            fps=condition.fps,
            image_latents=condition.image_latents,
            image_embeddings=condition.image_embeddings,
            return_dict=False,
        )[0]

    def latent_sizes(self, video: VideoConfig) -> dict[str, int]:
        factor = self.vae_scale_factor
        return {"C": self.unet.config.in_channels, "F": video.num_frames, "H": video.height // factor,
                "W": video.width // factor}  # fmt: skip

    def embed_image(self, frame: Image.Image) -> torch.Tensor:
        """CLIP image embedding of the frame's central square, at the image encoder's input size."""
        pixels = self.feature_extractor(frame).to(self.device, self.image_encoder.dtype)
        return self.image_encoder(pixels).image_embeds.unsqueeze(1).to(self.dtype)

    def _encode_pixels(self, pixels: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        posterior = self.vae.encode(pixels).latent_dist
        latents = posterior.sample(generator) if sample else posterior.mean
        return latents * self.vae.config.scaling_factor


def _to_pixels(frame: Image.Image) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1], the VAE's input range."""
    import torch

    array = np.asarray(frame.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0) * 2.0 - 1.0


def _with_position_ramp(first_latent: torch.Tensor, num_frames: int) -> torch.Tensor:
    """I2VGenXL's image latents: the first frame's latent, then constant maps rising to 1 over the frames."""
    import torch

    ramp = [torch.ones_like(first_latent) * ((i + 1) / (num_frames - 1)) for i in range(num_frames - 1)]
    return torch.cat([first_latent, *ramp], dim=2)
