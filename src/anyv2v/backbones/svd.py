"""Stable Video Diffusion (stabilityai/stable-video-diffusion-img2vid[-xt]) from diffusers' own components.

What differs from I2VGen-XL: no text (prompts must be empty); conditions are the CLIP image embedding of the
first frame, its noise-augmented VAE latent beside every frame's latent, and the added time ids (fps - 1,
motion bucket, noise augmentation); the negative branch zeroes embedding and latent; guidance rises linearly
over the frames; the noise process is EDM on the Euler/Karras sigma grid (`EDMProcess`). Conditioning follows
diffusers' StableVideoDiffusionPipeline, which the backbone test holds it to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from anyv2v.backbones.base import (
    Backbone,
    Condition,
    FrameEncoding,
    InjectionKind,
    Progress,
    diffusers_pixels,
    is_guided,
    no_grad,
)
from anyv2v.config import EditConfig, InversionConfig, SamplingConfig, VAEConfig, VideoConfig
from anyv2v.errors import AnyV2VError
from anyv2v.noise import EDMProcess

if TYPE_CHECKING:
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionModelWithProjection

    from anyv2v.backbones.base import ImageNormalization

# The paper's sites on SVD's decoder, which has I2VGen-XL's block layout: the spatial ResNet of up block 1's
# second layer, and self-attention of the spatial and temporal transformers in up blocks {1: [1, 2], 2-3: all}.
_LAYERS = ("up_blocks.1.attentions.[12]", "up_blocks.[23].attentions.[012]")

# stabilityai/stable-video-diffusion-img2vid-xt's scheduler/scheduler_config.json (for models built here)
SCHEDULER_CONFIG = {
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "interpolation_type": "linear",
    "num_train_timesteps": 1000, "prediction_type": "v_prediction", "sigma_max": 700.0, "sigma_min": 0.002,
    "steps_offset": 1, "timestep_spacing": "leading", "timestep_type": "continuous", "use_karras_sigmas": True,
}  # fmt: skip

ENCODE_CHUNK_SIZE = 8  # frames per VAE encode call (the encoder sees each frame alone)

INJECTION_KINDS = {
    "conv": InjectionKind(
        ("up_blocks.1.resnets.1.spatial_res_block.conv2",), 0.2, "decoder ResNet features (second conv)", "conv"
    ),
    "spatial_attention": InjectionKind(
        tuple(f"{layer}.transformer_blocks.*.attn1.to_[qk]" for layer in _LAYERS),
        0.2,
        "spatial self-attention queries and keys",
        "spatial",
    ),
    "temporal_attention": InjectionKind(
        tuple(f"{layer}.temporal_transformer_blocks.*.attn1.to_[qk]" for layer in _LAYERS),
        0.5,
        "temporal self-attention queries and keys",
        "temporal",
    ),
}

# SVD-XT's own defaults (StableVideoDiffusionPipeline): 25 frames at 1024x576, fps 7, 25 Euler steps, guidance
# rising from 1 to 3 over the frames; no prompts. There is no official AnyV2V recipe for SVD. Karras grids of
# different lengths share no levels, so inversion runs on the sampling grid itself, with the second-order
# solver; `fine` doubles both.
FAST = EditConfig(
    video=VideoConfig(num_frames=25, fps=7.0, height=576, width=1024),
    vae=VAEConfig(decode_chunk_size=8),
    inversion=InversionConfig(steps=25, prompt="", solver="second-order"),
    sampling=SamplingConfig(steps=25, guidance_scale=3.0, negative_prompt="", start_step=0),
)
FINE = dataclasses.replace(
    FAST,
    inversion=dataclasses.replace(FAST.inversion, steps=50),
    sampling=dataclasses.replace(FAST.sampling, steps=50),
)


def for_toy_model(config: EditConfig) -> EditConfig:
    """A recipe at the toy SVD's size (anyv2v/toy: 8 frames of 64x64, trained at 8 fps); SVD's guidance and
    everything else stay the recipe's."""
    return dataclasses.replace(config, video=VideoConfig(num_frames=8, fps=8.0, height=64, width=64))


AUGMENTATION_SEED = 0


@dataclass
class SVDCondition(Condition):
    image_embeddings: torch.Tensor  # (B, 1, dim) CLIP image embedding of the first frame; zeros when negative
    image_latents: torch.Tensor  # (B, F, C, h, w) the first frame's noise-augmented latent, on every frame
    added_time_ids: torch.Tensor  # (B, 3) fps - 1, motion bucket, noise augmentation strength


class StableVideoDiffusion(Backbone):
    name = "svd"
    default_model = "stabilityai/stable-video-diffusion-img2vid-xt"
    components = {
        "image_encoder": "transformers.CLIPVisionModelWithProjection",
        "vae": "diffusers.AutoencoderKLTemporalDecoder",
        "unet": "diffusers.UNetSpatioTemporalConditionModel",
        "feature_extractor": "anyv2v.backbones.base.ImageNormalization",
        "scheduler": "diffusers.EulerDiscreteScheduler",
    }
    denoiser = "unet"
    latent_layout = "BFCHW"
    injection_kinds = INJECTION_KINDS
    presets = {"fast": FAST, "fine": FINE}
    size_multiple = 64
    default_preset = "fast"
    options = {"motion_bucket_id": 127, "noise_aug_strength": 0.02, "min_guidance_scale": 1.0}
    takes_text = False
    toy_settings = staticmethod(for_toy_model)

    def __init__(
        self,
        unet: UNetSpatioTemporalConditionModel,
        vae: AutoencoderKLTemporalDecoder,
        image_encoder: CLIPVisionModelWithProjection,
        feature_extractor: ImageNormalization,
        scheduler: dict,
        device: torch.device,
    ):
        self.unet, self.vae = unet, vae
        self.image_encoder, self.feature_extractor = image_encoder, feature_extractor
        self.scheduler = dict(scheduler)
        self.process = EDMProcess(self.scheduler)
        self.device = device
        self.dtype = unet.dtype
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.run_options = dict(self.options)

    @no_grad
    def encode_frame(self, frame: Image.Image, *, sample: bool, generator: torch.Generator | None) -> FrameEncoding:
        """CLIP embedding of the frame, and the VAE latent (mode, unscaled) of the noise-augmented frame.

        The augmentation noise comes from a fixed seed, the same for every frame (SVD's pipeline draws it from
        the run's generator): the inversion, and its cache, stay deterministic, and the source and edit
        branches' conditions differ by their frames alone."""
        import torch
        from diffusers.utils.torch_utils import randn_tensor

        pixels = diffusers_pixels(frame).to(self.device)
        fixed = torch.Generator().manual_seed(AUGMENTATION_SEED)
        noise = randn_tensor(pixels.shape, generator=fixed, device=self.device, dtype=pixels.dtype)
        augmented = pixels + self.run_options["noise_aug_strength"] * noise
        latent = self.vae.encode(augmented.to(self.vae.dtype)).latent_dist.mode()
        return FrameEncoding(embedding=self.embed_image(frame), latent=latent.to(self.dtype))

    def condition(self, prompt: str, frame: FrameEncoding, video: VideoConfig, *, negative: bool = False):
        import torch

        if prompt:
            raise AnyV2VError(
                f"{self.name} takes no text, so a prompt cannot steer it: drop --prompt (and --negative-prompt)"
            )
        options = self.run_options
        time_ids = [video.fps - 1, options["motion_bucket_id"], options["noise_aug_strength"]]
        latent = torch.zeros_like(frame.latent) if negative else frame.latent
        return SVDCondition(
            image_embeddings=torch.zeros_like(frame.embedding) if negative else frame.embedding,
            image_latents=latent.unsqueeze(1).repeat(1, video.num_frames, 1, 1, 1),
            added_time_ids=torch.tensor([time_ids], dtype=self.dtype, device=self.device),
        )

    def guide(self, output: torch.Tensor, guidance_scale: float) -> torch.Tensor:
        """SVD's guidance: from `min_guidance_scale` on the first frame up to `guidance_scale` on the last. At
        `guidance_scale` 1 or less (the inversion's, by default) the batch has no negative branch: none is run."""
        import torch

        if not is_guided(guidance_scale):
            return output
        low = self.run_options["min_guidance_scale"]
        negative, positive = output.chunk(2)
        scales = torch.linspace(low, guidance_scale, output.shape[1], device=output.device, dtype=output.dtype)
        return negative + scales.view(1, -1, 1, 1, 1) * (positive - negative)

    @no_grad
    def encode_video(self, frames: list[Image.Image], *, sample: bool, generator: torch.Generator | None):
        import torch

        pixels = torch.cat([diffusers_pixels(frame) for frame in frames])
        chunks = []
        for i in range(0, len(frames), ENCODE_CHUNK_SIZE):  # 25 frames of 1024x576 at once peaked at 26 GB
            posterior = self.vae.encode(pixels[i : i + ENCODE_CHUNK_SIZE].to(self.device, self.vae.dtype)).latent_dist
            chunks.append(posterior.sample(generator) if sample else posterior.mode())
        return (torch.cat(chunks) * self.vae.config.scaling_factor).unsqueeze(0).to(self.dtype)

    @no_grad
    def decode_video(self, latents: torch.Tensor, chunk_size: int, progress: Progress) -> torch.Tensor:
        import torch

        flat = latents.flatten(0, 1) / self.vae.config.scaling_factor
        chunks = [flat[i : i + chunk_size] for i in range(0, len(flat), chunk_size)]
        frames = [self.vae.decode(chunk, num_frames=len(chunk)).sample.float() for chunk in progress(chunks, "decode")]
        return (torch.cat(frames) / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)

    def denoise(self, latents: torch.Tensor, timestep: torch.Tensor, condition: SVDCondition) -> torch.Tensor:
        import torch

        return self.unet(
            torch.cat([latents, condition.image_latents], dim=2),
            timestep,
            encoder_hidden_states=condition.image_embeddings,
            added_time_ids=condition.added_time_ids,
            return_dict=False,
        )[0]

    def latent_sizes(self, video: VideoConfig) -> dict[str, int]:
        factor = self.vae_scale_factor
        return {"C": self.unet.config.out_channels, "F": video.num_frames, "H": video.height // factor,
                "W": video.width // factor}  # fmt: skip

    def embed_image(self, frame: Image.Image) -> torch.Tensor:
        """As StableVideoDiffusionPipeline: antialiased resize to the encoder's size in [-1, 1], then CLIP's
        normalization without crop."""
        from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
            _resize_with_antialiasing,
        )

        pixels = _resize_with_antialiasing(diffusers_pixels(frame), self.feature_extractor.size[::-1])
        normalized = self.feature_extractor.normalize((pixels + 1.0) / 2.0)
        embedding = self.image_encoder(normalized.to(self.device, self.image_encoder.dtype)).image_embeds
        return embedding.unsqueeze(1).to(self.dtype)
