"""A fake backbone unlike I2VGen-XL in every way the seam abstracts: latents laid out (B, F, C, H, W), a flow-
matching process on a float sigma grid, velocity output, no text, a transformer whose injection sites are
block outputs and self-attention projections. If the generic modules assumed a model family, it would fail."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, ConfigMixin, FlowMatchEulerDiscreteScheduler, ModelMixin
from diffusers.configuration_utils import register_to_config
from PIL import Image
from torch import nn

from anyv2v.backbones.base import Backbone, Condition, FrameEncoding, InjectionKind, Progress
from anyv2v.config import EditConfig, InversionConfig, SamplingConfig, VideoConfig
from anyv2v.errors import AnyV2VError
from anyv2v.noise import FlowMatchingProcess


class SelfAttention(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.to_q, self.to_k, self.to_v = (nn.Linear(width, width) for _ in range(3))
        self.to_out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)
        return self.to_out(torch.nn.functional.scaled_dot_product_attention(q, k, v))


class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = SelfAttention(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x) + time)
        return x + self.mlp(self.norm2(x))


class TinyFlowTransformer(ModelMixin, ConfigMixin):
    """Full 3D self-attention over every (frame, position) token, as Wan's blocks attend."""

    @register_to_config
    def __init__(self, channels: int = 4, width: int = 32, depth: int = 3):
        super().__init__()
        self.embed = nn.Linear(2 * channels, width)  # the noisy latent beside the first frame's clean latent
        self.time = nn.Sequential(nn.Linear(16, width), nn.SiLU(), nn.Linear(width, width))
        self.blocks = nn.ModuleList(Block(width) for _ in range(depth))
        self.out = nn.Linear(width, channels)

    def forward(self, latents: torch.Tensor, timestep: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        batch, frames, channels, height, width = latents.shape
        inputs = torch.cat([latents, image.expand_as(latents)], dim=2)
        tokens = self.embed(inputs.permute(0, 1, 3, 4, 2).reshape(batch, frames * height * width, 2 * channels))
        time = self.time(_sinusoid(timestep.reshape(-1).expand(batch), 16)).unsqueeze(1)
        for block in self.blocks:
            tokens = block(tokens, time)
        velocity = self.out(tokens).reshape(batch, frames, height, width, channels)
        return velocity.permute(0, 1, 4, 2, 3)


def _sinusoid(timestep: torch.Tensor, size: int) -> torch.Tensor:
    frequencies = torch.exp(-math.log(1000.0) * torch.arange(size // 2, device=timestep.device) / (size // 2))
    angles = timestep.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


@dataclass
class FakeCondition(Condition):
    image: torch.Tensor  # (B, 1, C, h, w) the first frame's latent; zeros in the negative branch


FAKE_PRESET = EditConfig(
    video=VideoConfig(num_frames=5, fps=8.0, height=16, width=16),
    inversion=InversionConfig(steps=20, solver="second-order"),
    sampling=SamplingConfig(steps=10, guidance_scale=2.0, negative_prompt="", start_step=0),
)


class FakeFlow(Backbone):
    name = "fake-flow"
    default_model = "anyv2v-tests/fake-flow"
    components = {
        "transformer": "tests.backbones.fake_flow.TinyFlowTransformer",
        "vae": "diffusers.AutoencoderKL",
        "scheduler": "diffusers.FlowMatchEulerDiscreteScheduler",
    }
    denoiser = "transformer"
    latent_layout = "BFCHW"
    injection_kinds = {
        "block": InjectionKind(("blocks.[01]",), 0.2, "transformer block outputs", "block"),
        "attention": InjectionKind(("blocks.*.attn.to_[qk]",), 0.5, "self-attention queries and keys", "attention"),
    }
    presets = {"reference": FAKE_PRESET}
    default_preset = "reference"

    def __init__(self, transformer: TinyFlowTransformer, vae: AutoencoderKL, scheduler: dict, device: torch.device):
        self.transformer, self.vae, self.scheduler = transformer, vae, dict(scheduler)
        self.process = FlowMatchingProcess(self.scheduler)
        self.device, self.dtype = device, transformer.dtype

    @classmethod
    def check_video(cls, video: VideoConfig) -> None:
        if video.num_frames % 4 != 1:
            raise AnyV2VError(f"num_frames {video.num_frames} is not 4k+1: use {video.num_frames // 4 * 4 + 1}")

    def encode_frame(self, frame: Image.Image, *, sample: bool, generator: torch.Generator | None) -> FrameEncoding:
        latent = self.encode_video([frame], sample=sample, generator=generator)
        return FrameEncoding(embedding=torch.zeros(1, 1, device=self.device), latent=latent)

    def condition(self, prompt: str, frame: FrameEncoding, video: VideoConfig, *, negative: bool = False):
        if prompt:
            raise AnyV2VError("fake-flow takes no text: drop --prompt")
        return FakeCondition(image=torch.zeros_like(frame.latent) if negative else frame.latent)

    @torch.no_grad()
    def encode_video(self, frames, *, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        pixels = torch.stack([_pixels(frame) for frame in frames]).to(self.device, self.dtype)
        posterior = self.vae.encode(pixels).latent_dist
        latents = posterior.sample(generator) if sample else posterior.mean
        return latents.unsqueeze(0)  # (1, F, C, h, w)

    @torch.no_grad()
    def decode_video(self, latents: torch.Tensor, chunk_size: int, progress: Progress) -> torch.Tensor:
        flat = latents[0]
        chunks = [flat[i : i + chunk_size] for i in range(0, len(flat), chunk_size)]
        images = torch.cat([self.vae.decode(chunk).sample.float() for chunk in progress(chunks, "decode")])
        return (images / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)

    def denoise(self, latents: torch.Tensor, timestep: torch.Tensor, condition: FakeCondition) -> torch.Tensor:
        return self.transformer(latents, timestep, condition.image)

    def latent_sizes(self, video: VideoConfig) -> dict[str, int]:
        factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        return {"C": self.vae.config.latent_channels, "F": video.num_frames, "H": video.height // factor,
                "W": video.width // factor}  # fmt: skip


def _pixels(frame: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(frame.convert("RGB"), dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)


def save_fake_flow(folder: Path) -> Path:
    """Random tiny weights in diffusers layout, so the generic `from_pretrained` loads it as users load theirs."""
    torch.manual_seed(0)
    parts = {
        "transformer": TinyFlowTransformer(),
        "vae": AutoencoderKL(
            block_out_channels=(8, 8),
            down_block_types=["DownEncoderBlock2D"] * 2,
            up_block_types=["UpDecoderBlock2D"] * 2,
            latent_channels=4,
            norm_num_groups=4,
            layers_per_block=1,
        ),  # fmt: skip
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=2.0),
    }
    for name, part in parts.items():
        part.save_pretrained(folder / name)
    (folder / "model_index.json").write_text('{"_class_name": "FakeFlowPipeline"}')
    return folder
