"""A tiny random I2VGen-XL in diffusers layout, built from configs, for tests that load it as users do."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler
from diffusers.models.unets import I2VGenXLUNet
from transformers import (
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

# The hub model's scheduler config (ali-vilab/i2vgen-xl, scheduler/scheduler_config.json).
I2VGENXL_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "squaredcos_cap_v2",
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "set_alpha_to_one": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
}
DIM = 16  # text, image-embedding and cross-attention width


def byte_level_tokenizer(folder: Path, max_length: int = 16) -> CLIPTokenizer:
    """A CLIP BPE tokenizer with single-byte tokens only: real tokenization code, no download."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    symbols = [chr(b) for b in printable] + [chr(256 + i) for i in range(len(extra))]
    vocab = {s: i for i, s in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length)


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
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=DIM, intermediate_size=32, num_attention_heads=2, num_hidden_layers=2,
            vocab_size=600, max_position_embeddings=16, projection_dim=DIM, bos_token_id=512,
            eos_token_id=513, pad_token_id=513,
        )
    )  # fmt: skip
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=DIM, intermediate_size=32, num_attention_heads=2, num_hidden_layers=2,
            image_size=32, patch_size=8, projection_dim=DIM,
        )
    )  # fmt: skip
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": byte_level_tokenizer(scratch / "tokenizer-source"),
        "image_encoder": image_encoder,
        "feature_extractor": CLIPImageProcessor(crop_size=32, size=32),
        "scheduler": DDIMScheduler(**I2VGENXL_SCHEDULER),
    }


def save_tiny_model(folder: Path) -> Path:
    """Save as diffusers' I2VGenXLPipeline would, so model_index.json and subfolders match the hub's layout."""
    from diffusers import I2VGenXLPipeline

    I2VGenXLPipeline(**tiny_components(folder.parent / f"{folder.name}-scratch")).save_pretrained(folder)
    return folder
