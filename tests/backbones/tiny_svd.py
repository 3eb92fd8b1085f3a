"""A tiny random Stable Video Diffusion in diffusers layout, with SVD's block layout (so every injection site
exists) and its scheduler config, loaded by tests the way users load the real one."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, UNetSpatioTemporalConditionModel

from anyv2v.backbones.base import ImageNormalization
from anyv2v.toy.model import image_encoder
from tests.test_inversion import SVD_SCHEDULER

DIM = 32  # image embedding and cross-attention width
FRAME_SIZE = 64  # SVD's sizes are multiples of 64; the VAE makes 16x16 latents, which the UNet halves thrice


def save_tiny_svd(folder: Path) -> Path:
    torch.manual_seed(0)
    parts = {
        "unet": UNetSpatioTemporalConditionModel(
            sample_size=FRAME_SIZE // 4, in_channels=8, out_channels=4, block_out_channels=(32, 32, 32, 32),
            layers_per_block=2, cross_attention_dim=DIM, num_attention_heads=(2, 2, 2, 2),
            addition_time_embed_dim=8, projection_class_embeddings_input_dim=24, num_frames=5,
        ),
        "vae": AutoencoderKLTemporalDecoder(
            block_out_channels=(32, 32, 32), down_block_types=["DownEncoderBlock2D"] * 3, latent_channels=4,
            layers_per_block=1,
        ),
        "image_encoder": image_encoder(DIM, 224, seed=1),  # SVD resizes to 224 pixels whatever the encoder
        "feature_extractor": ImageNormalization.clip(224),
        "scheduler": EulerDiscreteScheduler(**SVD_SCHEDULER),
    }  # fmt: skip
    for name, part in parts.items():
        part.save_pretrained(folder / name)
    index = {"_class_name": "StableVideoDiffusionPipeline", "feature_extractor": ["transformers", "CLIPImageProcessor"]}
    index.update(
        {name: ["diffusers", type(part).__name__] for name, part in parts.items() if name != "feature_extractor"}
    )
    index["image_encoder"] = ["transformers", "CLIPVisionModelWithProjection"]
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder
