"""Full-size architectures with random weights: speed and memory need no trained weights, so they can be
measured on any GPU with nothing to download.

I2VGen-XL has the shapes of ali-vilab/i2vgen-xl: diffusers' I2VGenXLUNet defaults are its UNet, the VAE is
Stable Diffusion 2.1's, the text encoder OpenCLIP ViT-H/14's text tower and the image encoder its ViT-H/14
vision tower. Only the tokenizer differs (a byte-level vocabulary): it runs once per prompt and costs nothing.
Stable Video Diffusion has those of stabilityai/stable-video-diffusion-img2vid-xt: diffusers'
UNetSpatioTemporalConditionModel defaults, its temporal-decoder VAE and the same ViT-H/14 vision tower.
Wan has those of Wan-AI/Wan2.2-TI2V-5B-Diffusers: its 30-block transformer (3072 wide), its 48-channel VAE
(16x spatially) and UMT5-XXL's encoder; the tokenizer is a character vocabulary, the latent statistics 0 and 1.
"""

from __future__ import annotations

import string
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLTemporalDecoder,
    AutoencoderKLWan,
    UNetSpatioTemporalConditionModel,
    WanTransformer3DModel,
)
from diffusers.models.unets import I2VGenXLUNet
from PIL import Image
from torch import nn
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    T5TokenizerFast,
    UMT5Config,
    UMT5EncoderModel,
)

from anyv2v.backbones.base import Backbone, ImageNormalization
from anyv2v.backbones.i2vgen_xl import I2VGenXL
from anyv2v.backbones.svd import SCHEDULER_CONFIG, StableVideoDiffusion
from anyv2v.backbones.wan import SCHEDULER_CONFIG as WAN_SCHEDULER_CONFIG
from anyv2v.backbones.wan import Wan
from anyv2v.errors import AnyV2VError
from anyv2v.toy.model import BYTE_TOKEN_IDS, I2VGENXL_SCHEDULER, TOKENS, byte_level_tokenizer


@dataclass(frozen=True)
class Architecture:
    """Constructor arguments of each part; tests pass a tiny one through the same code."""

    unet: dict = field(default_factory=dict)
    vae: dict = field(
        default_factory=lambda: {
            "block_out_channels": (128, 256, 512, 512),
            "down_block_types": ("DownEncoderBlock2D",) * 4,
            "up_block_types": ("UpDecoderBlock2D",) * 4,
            "layers_per_block": 2,
            "sample_size": 768,
        }
    )
    text_encoder: dict = field(
        default_factory=lambda: {
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_attention_heads": 16,
            "num_hidden_layers": 24,
            "projection_dim": 1024,
            "hidden_act": "gelu",
            "vocab_size": 49408,
        }
    )
    image_encoder: dict = field(
        default_factory=lambda: {
            "hidden_size": 1280,
            "intermediate_size": 5120,
            "num_attention_heads": 16,
            "num_hidden_layers": 32,
            "patch_size": 14,
            "image_size": 224,
            "projection_dim": 1024,
            "hidden_act": "gelu",
        }
    )


FULL_SIZE = Architecture()


@dataclass(frozen=True)
class SVDArchitecture:
    unet: dict = field(default_factory=dict)  # diffusers' defaults are SVD-XT's (25 frames)
    vae: dict = field(
        default_factory=lambda: {
            "block_out_channels": (128, 256, 512, 512),
            "down_block_types": ("DownEncoderBlock2D",) * 4,
            "layers_per_block": 2,
            "sample_size": 768,
        }
    )
    image_encoder: dict = field(default_factory=lambda: dict(FULL_SIZE.image_encoder))


FULL_SIZE_SVD = SVDArchitecture()


@dataclass(frozen=True)
class WanArchitecture:
    """Wan 2.2 TI2V-5B's published config: transformer/, vae/ and text_encoder/ config.json."""

    transformer: dict = field(
        default_factory=lambda: {
            "patch_size": (1, 2, 2),
            "num_attention_heads": 24,
            "attention_head_dim": 128,
            "in_channels": 48,
            "out_channels": 48,
            "text_dim": 4096,
            "freq_dim": 256,
            "ffn_dim": 14336,
            "num_layers": 30,
            "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads",
            "eps": 1e-6,
            "rope_max_seq_len": 1024,
        }
    )
    vae: dict = field(
        default_factory=lambda: {
            "base_dim": 160,
            "decoder_base_dim": 256,
            "z_dim": 48,
            "dim_mult": [1, 2, 4, 4],
            "num_res_blocks": 2,
            "temperal_downsample": [False, True, True],
            "is_residual": True,
            "in_channels": 12,
            "out_channels": 12,
            "patch_size": 2,
            "scale_factor_spatial": 16,
            "scale_factor_temporal": 4,
        }
    )
    text_encoder: dict = field(
        default_factory=lambda: {
            "vocab_size": 256384,
            "d_model": 4096,
            "d_kv": 64,
            "d_ff": 10240,
            "num_layers": 24,
            "num_heads": 64,
            "relative_attention_num_buckets": 32,
            "relative_attention_max_distance": 128,
            "feed_forward_proj": "gated-gelu",
        }
    )


FULL_SIZE_WAN = WanArchitecture()


def random_i2vgen_xl(architecture: Architecture, *, dtype: torch.dtype, device: torch.device) -> I2VGenXL:
    """Built directly on `device` (random initialisation of 2.4 billion weights is slow on a CPU)."""
    image_size = architecture.image_encoder.get("image_size", 224)
    with torch.device(device):
        parts = {
            "unet": I2VGenXLUNet(**architecture.unet),
            "vae": AutoencoderKL(**architecture.vae),
            "text_encoder": CLIPTextModel(
                CLIPTextConfig(**architecture.text_encoder, max_position_embeddings=TOKENS, **BYTE_TOKEN_IDS)
            ),
            "image_encoder": CLIPVisionModelWithProjection(CLIPVisionConfig(**architecture.image_encoder)),
        }
    _ready(parts.values(), dtype, device)
    with tempfile.TemporaryDirectory(prefix="anyv2v-tokenizer-") as folder:
        tokenizer = byte_level_tokenizer(Path(folder))
    return I2VGenXL(
        **parts,
        tokenizer=tokenizer,
        feature_extractor=ImageNormalization.clip(image_size),
        scheduler=I2VGENXL_SCHEDULER,
        device=device,
    )


def random_svd(architecture: SVDArchitecture, *, dtype: torch.dtype, device: torch.device) -> StableVideoDiffusion:
    with torch.device(device):
        parts = {
            "unet": UNetSpatioTemporalConditionModel(**architecture.unet),
            "vae": AutoencoderKLTemporalDecoder(**architecture.vae),
            "image_encoder": CLIPVisionModelWithProjection(CLIPVisionConfig(**architecture.image_encoder)),
        }
    _ready(parts.values(), dtype, device)
    image_size = architecture.image_encoder.get("image_size", 224)
    return StableVideoDiffusion(
        **parts, feature_extractor=ImageNormalization.clip(image_size), scheduler=SCHEDULER_CONFIG, device=device
    )


def random_wan(architecture: WanArchitecture, *, dtype: torch.dtype, device: torch.device) -> Wan:
    """Wan 2.2's conditioning style (`expand_timesteps`), on its own scheduler config."""
    channels = architecture.vae["z_dim"]
    with torch.device(device):
        parts = {
            "transformer": WanTransformer3DModel(**architecture.transformer),
            "vae": AutoencoderKLWan(**architecture.vae, latents_mean=[0.0] * channels, latents_std=[1.0] * channels),
            "text_encoder": UMT5EncoderModel(UMT5Config(**architecture.text_encoder)),
        }
    _ready(parts.values(), dtype, device)
    return Wan(
        **parts, tokenizer=character_tokenizer(), scheduler=WAN_SCHEDULER_CONFIG, device=device, expand_timesteps=True
    )


def character_tokenizer() -> T5TokenizerFast:
    """A T5 (Unigram) tokenizer over printable ASCII, alone and word-initial: any English prompt tokenizes
    without <unk>, with nothing to download. Built on the `tokenizers` library, as transformers 5's T5 tokenizer
    is, so that transformers 4 loads it without sentencepiece."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    characters = string.ascii_letters + string.digits + string.punctuation
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(c, -3.0) for c in characters] + [("▁" + c, -3.5) for c in characters]
    unigram = Tokenizer(models.Unigram(vocab, unk_id=2))
    unigram.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    unigram.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    unigram.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return T5TokenizerFast(
        tokenizer_object=unigram, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0
    )


RANDOM_MODELS = {
    "i2vgen-xl": (random_i2vgen_xl, lambda: FULL_SIZE),
    "svd": (random_svd, lambda: FULL_SIZE_SVD),
    "wan": (random_wan, lambda: FULL_SIZE_WAN),
}


def random_model(backbone: str, *, dtype: torch.dtype, device: torch.device) -> Backbone:
    """The full-size architecture of `backbone`, randomly initialised on `device`."""
    if backbone not in RANDOM_MODELS:
        raise AnyV2VError(f"--full-size has no architecture for {backbone}: use {' or '.join(RANDOM_MODELS)}")
    build, architecture = RANDOM_MODELS[backbone]
    return build(architecture(), dtype=dtype, device=device)


def _ready(modules: Iterable[nn.Module], dtype: torch.dtype, device: torch.device) -> None:
    for module in modules:  # legacy constructors (torch.Tensor([...])) ignore the device context: move all
        module.to(device, dtype).eval().requires_grad_(False)
    if device.type == "cuda":
        torch.cuda.empty_cache()  # the float32 copies made while building


def parameter_counts(backbone: Backbone) -> dict[str, int]:
    return {name: sum(p.numel() for p in getattr(backbone, name).parameters()) for name in _module_names(backbone)}


def _module_names(backbone: Backbone) -> list[str]:
    return [name for name in backbone.components if isinstance(getattr(backbone, name), nn.Module)]


def moving_pattern(num_frames: int, height: int, width: int) -> list[Image.Image]:
    """A smooth pattern drifting across the frame: content that random weights can time as well as any."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    frames = []
    for i in range(num_frames):
        phase = 2 * np.pi * i / num_frames
        channels = [np.sin(6 * x + phase + k) * np.cos(4 * y - phase + 2 * k) for k in range(3)]
        frames.append(Image.fromarray(((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8)))
    return frames
