"""Tiny random diffusers pipelines for every diffusers-based editor, built from configs and saved in diffusers
layout, so the tests load them through the editors' real loading code. Tokenizers are built locally (no download).
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxKontextPipeline,
    FluxTransformer2DModel,
    StableDiffusionInstructPix2PixPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInstructPix2PixPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)

from tests.tiny_model import byte_level_tokenizer

DIM = 16  # width of each text encoder; SDXL's cross-attention takes both, 2 * DIM
TOKENS = 16  # CLIP text positions
TIME_EMBED = 8  # SDXL's size/crop conditioning: six numbers embedded at this width each


def clip_text(with_projection: bool = False) -> CLIPTextModel:
    config = CLIPTextConfig(
        hidden_size=DIM, intermediate_size=32, num_attention_heads=2, num_hidden_layers=2, vocab_size=600,
        max_position_embeddings=TOKENS, projection_dim=DIM, bos_token_id=512, eos_token_id=513, pad_token_id=513,
    )  # fmt: skip
    return (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(config)


def sd_vae() -> AutoencoderKL:
    return AutoencoderKL(
        block_out_channels=(8, 16), down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4, norm_num_groups=4, sample_size=32,
    )  # fmt: skip


def sdxl_unet(in_channels: int) -> UNet2DConditionModel:
    """SDXL's layout in miniature: an attention-free first block, text-time conditioning, 3 attentions per up
    block (so InstantStyle's `up.block_0` scale list fits as it does on the real model)."""
    return UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=2, sample_size=16, in_channels=in_channels, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=TIME_EMBED, transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=6 * TIME_EMBED + DIM, cross_attention_dim=2 * DIM, norm_num_groups=4,
    )  # fmt: skip


def save_tiny_instruct_pix2pix(folder: Path) -> Path:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=8, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=DIM, attention_head_dim=4, norm_num_groups=4,
    )  # fmt: skip
    StableDiffusionInstructPix2PixPipeline(
        vae=sd_vae(), text_encoder=clip_text(), tokenizer=byte_level_tokenizer(folder.with_name("tokenizer"), TOKENS),
        unet=unet, scheduler=EulerAncestralDiscreteScheduler(), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    ).save_pretrained(folder)  # fmt: skip
    return folder


def sdxl_parts(folder: Path, in_channels: int) -> dict:
    tokenizer = byte_level_tokenizer(folder.with_name("tokenizer"), TOKENS)
    return {
        "vae": sd_vae(), "text_encoder": clip_text(), "text_encoder_2": clip_text(with_projection=True),
        "tokenizer": tokenizer, "tokenizer_2": tokenizer, "unet": sdxl_unet(in_channels),
        "scheduler": EulerDiscreteScheduler(),
    }  # fmt: skip


def save_tiny_cosxl_edit(folder: Path) -> Path:
    """An SDXL InstructPix2Pix (8 input channels: noise and frame latents) as CosXL Edit is."""
    torch.manual_seed(0)
    StableDiffusionXLInstructPix2PixPipeline(**sdxl_parts(folder, in_channels=8)).save_pretrained(folder)
    return folder


def save_tiny_sdxl(folder: Path) -> Path:
    torch.manual_seed(0)
    StableDiffusionXLImg2ImgPipeline(**sdxl_parts(folder, in_channels=4)).save_pretrained(folder)
    return folder


def save_tiny_ip_adapter(folder: Path, sdxl: Path) -> Path:
    """h94/IP-Adapter's layout: sdxl_models/ip-adapter_sdxl.safetensors (image projection + per cross-attention
    key/value projections, keyed as diffusers reads them) and sdxl_models/image_encoder."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_pretrained(sdxl, subfolder="unet", use_safetensors=True)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=DIM, intermediate_size=32, num_attention_heads=2, num_hidden_layers=2, image_size=32,
            patch_size=8, projection_dim=DIM,
        )
    )  # fmt: skip
    encoder.save_pretrained(folder / "sdxl_models" / "image_encoder")
    text_dim, tokens = unet.config.cross_attention_dim, 4
    weights = {
        "image_proj.proj.weight": torch.randn(tokens * text_dim, DIM) * 0.1,
        "image_proj.proj.bias": torch.zeros(tokens * text_dim),
        "image_proj.norm.weight": torch.ones(text_dim),
        "image_proj.norm.bias": torch.zeros(text_dim),
    }
    cross_attentions = [name for name in unet.attn_processors if name.endswith("attn2.processor")]
    for index, name in enumerate(cross_attentions):
        hidden = unet.get_submodule(name.removesuffix(".processor")).to_q.out_features
        for projection in ("to_k_ip", "to_v_ip"):  # diffusers numbers them 1, 3, 5, ... in processor order
            weights[f"ip_adapter.{2 * index + 1}.{projection}.weight"] = torch.randn(hidden, text_dim) * 0.1
    save_file(weights, folder / "sdxl_models" / "ip-adapter_sdxl.safetensors")
    return folder


def t5_tokenizer() -> T5Tokenizer:
    """A Unigram T5 tokenizer over single characters, built in memory: real tokenization code, no sentencepiece."""
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)] + [(chr(c), -2.0) for c in range(33, 127)]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def save_tiny_flux_kontext(folder: Path) -> Path:
    torch.manual_seed(0)
    tokenizer_2 = t5_tokenizer()
    text_encoder_2 = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer_2), d_model=DIM, d_kv=4, d_ff=32, num_layers=1, num_heads=2,
            relative_attention_num_buckets=8,
        )
    )  # fmt: skip
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=DIM, pooled_projection_dim=DIM, axes_dims_rope=[4, 4, 8],
    )  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=(4,), down_block_types=["DownEncoderBlock2D"], up_block_types=["UpDecoderBlock2D"],
        latent_channels=1, norm_num_groups=1, sample_size=32, use_quant_conv=False, use_post_quant_conv=False,
        shift_factor=0.0609, scaling_factor=1.5035,
    )  # fmt: skip
    FluxKontextPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=clip_text(),
        tokenizer=byte_level_tokenizer(folder.with_name("tokenizer"), TOKENS), text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2, transformer=transformer,
    ).save_pretrained(folder)  # fmt: skip
    return folder
