"""Tiny random Wan models in diffusers' WanImageToVideoPipeline layout, one per conditioning style, loaded by
tests the way users load the real ones: Wan 2.1 I2V (CLIP image tokens, the image latent and its mask beside
the noise) and Wan 2.2 TI2V (`expand_timesteps`: the first latent frame is the clean image latent). The
tokenizer is a real T5 (Unigram) tokenizer over a character vocabulary, built offline (full_size.py's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch
from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, WanTransformer3DModel
from transformers import CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

from anyv2v.backbones.wan import SCHEDULER_CONFIG, CLIPImageProcessing
from anyv2v.evaluation.full_size import character_tokenizer

Style = Literal["2.1", "2.2"]
TEXT_DIM = 16
DEPTH = 4  # so that the default blocks (the latter half; the one at half depth) are a proper subset
FRAME_SIZE = {"2.1": 32, "2.2": 64}  # multiples of 16 (VAE 8x, patch 2) and 32 (VAE 16x, patch 2)
EULER_SHIFT = 3.0
TEXT_ENCODER = {"vocab_size": 200, "d_model": TEXT_DIM, "d_kv": 8, "d_ff": 32, "num_layers": 2, "num_heads": 2,
                "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16}  # fmt: skip


def components(style: Style, scheduler: Literal["unipc", "euler"]) -> dict:
    """Random tiny parts; latent statistics away from 0 and 1 so that normalization is exercised."""
    torch.manual_seed(0)
    channels = 4 if style == "2.1" else 8
    statistics = {
        "latents_mean": [0.1 * i - 0.2 for i in range(channels)],
        "latents_std": [0.5 + 0.25 * i for i in range(channels)],
    }
    vae = {"base_dim": 8, "z_dim": channels, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1,
           "temperal_downsample": [False, True, True], **statistics}  # fmt: skip
    if style == "2.2":  # Wan 2.2's VAE: patchified input, residual blocks, 16x spatially
        vae.update(is_residual=True, in_channels=12, out_channels=12, patch_size=2, scale_factor_spatial=16)
    transformer = {"patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12, "text_dim": TEXT_DIM,
                   "freq_dim": 32, "ffn_dim": 32, "num_layers": DEPTH, "rope_max_seq_len": 32,
                   "in_channels": channels, "out_channels": channels}  # fmt: skip
    parts = {}
    if style == "2.1":  # the mask and the image latent join the noise; CLIP tokens join the text
        clip = CLIPVisionConfig(hidden_size=8, intermediate_size=16, num_attention_heads=2, num_hidden_layers=3,
                                image_size=32, patch_size=8)  # fmt: skip
        parts.update(image_encoder=CLIPVisionModel(clip), image_processor=CLIPImageProcessing.clip(32))
        transformer.update(in_channels=2 * channels + 4, image_dim=8, added_kv_proj_dim=24)
    parts.update(
        transformer=WanTransformer3DModel(**transformer),
        vae=AutoencoderKLWan(**vae),
        text_encoder=UMT5EncoderModel(UMT5Config(**TEXT_ENCODER)),
        tokenizer=character_tokenizer(),
        scheduler=(
            UniPCMultistepScheduler.from_config(SCHEDULER_CONFIG)
            if scheduler == "unipc"
            else FlowMatchEulerDiscreteScheduler(shift=EULER_SHIFT)
        ),
    )
    return parts


def save_tiny_wan(folder: Path, style: Style = "2.2", scheduler: Literal["unipc", "euler"] = "unipc") -> Path:
    """The parts and a model_index.json as diffusers writes them: Wan 2.2's with image_encoder and
    image_processor null and expand_timesteps set; Wan 2.1's naming its CLIP parts."""
    parts = components(style, scheduler)
    for name, part in parts.items():
        part.save_pretrained(folder / name)
    index = {
        "_class_name": "WanImageToVideoPipeline",
        "boundary_ratio": None,
        "expand_timesteps": style == "2.2",
        "transformer_2": [None, None],
        "image_encoder": [None, None],
        "image_processor": [None, None],
    }
    index.update({name: [_library(part), type(part).__name__] for name, part in parts.items()})
    if style == "2.1":
        index["image_processor"] = ["transformers", "CLIPImageProcessor"]
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def save_tiny_wan_21(folder: Path) -> Path:
    return save_tiny_wan(folder, "2.1", "euler")


def _library(part: object) -> str:
    return "diffusers" if type(part).__module__.startswith("diffusers") else "transformers"
