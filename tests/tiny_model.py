"""A tiny random I2VGen-XL in diffusers layout, built from configs, for tests that load it as users do."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler
from diffusers.models.unets import I2VGenXLUNet

from anyv2v.backbones.base import ImageNormalization
from anyv2v.toy.model import (
    I2VGENXL_SCHEDULER,
    byte_level_tokenizer,
    image_encoder,
    save_diffusers_layout,
    text_encoder,
)

DIM = 16  # text, image-embedding and cross-attention width


def tiny_components(scratch: Path) -> dict:
    torch.manual_seed(0)
    unet = I2VGenXLUNet(
        sample_size=16,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=2,
        norm_num_groups=4,
        cross_attention_dim=DIM,
        attention_head_dim=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=32,
    )
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder(DIM, seed=1),
        "tokenizer": byte_level_tokenizer(scratch / "tokenizer-source"),
        "image_encoder": image_encoder(DIM, 32, seed=2),
        "feature_extractor": ImageNormalization.clip(32),
        "scheduler": DDIMScheduler(**I2VGENXL_SCHEDULER),
    }


def save_tiny_model(folder: Path) -> Path:
    return save_diffusers_layout(tiny_components(folder.parent / f"{folder.name}-scratch"), folder)
