"""The toy models: each backbone's real classes at small sizes, saved in diffusers layout.

Same classes as the hub models (for I2VGen-XL: I2VGenXLUNet, AutoencoderKL, CLIP text and vision encoders,
DDIM; for Stable Video Diffusion: UNetSpatioTemporalConditionModel, AutoencoderKLTemporalDecoder, CLIP vision,
Euler; for Wan: WanTransformer3DModel, AutoencoderKLWan, UMT5, UniPC), so a toy model loads through exactly
the code path a hub id takes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import diffusers
import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLTemporalDecoder,
    AutoencoderKLWan,
    DDIMScheduler,
    EulerDiscreteScheduler,
    UNetSpatioTemporalConditionModel,
    UniPCMultistepScheduler,
    WanTransformer3DModel,
)
from diffusers.models.unets import I2VGenXLUNet
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    UMT5Config,
    UMT5EncoderModel,
)

from anyv2v.backbones.base import ImageNormalization
from anyv2v.backbones.svd import SCHEDULER_CONFIG as SVD_SCHEDULER
from anyv2v.backbones.wan import SCHEDULER_CONFIG as WAN_SCHEDULER
from anyv2v.toy.data import FRAMES

# The hub model's scheduler settings (ali-vilab/i2vgen-xl scheduler/scheduler_config.json).
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
EMBED_DIM = 64  # text, image-embedding and cross-attention width
TOKENS = 16
FRAME_SIZE = 32  # pixels
LATENT_SIZE = 16  # the VAE downsamples 2x
SVD_FRAME_SIZE = 64  # SVD's sizes are multiples of 64; its toy VAE downsamples 4x to the same 16x16 latents
# 12 latent channels: at 4 a 16x16 latent held 12x fewer numbers than its 64x64 frame (the toy I2VGen-XL's: 3x)
# and even the VAE alone lost 0.1-0.2 of an edit after 2,200 steps (docs/bench/experiments/toy-svd-vae/)
SVD_LATENT_CHANNELS = 12
SVD_CLIP_SIZE = 224  # SVD resizes the conditioning frame to 224 pixels for CLIP, whatever the encoder's size
WAN_FRAME_SIZE, WAN_FRAMES = 64, 9  # Wan's clips are 4k + 1 frames: the first, then groups of four
# Wan 2.2's VAE (the toy is conditioned as Wan 2.2 is): 48 latent channels, so a 16x16x48 latent frame holds four
# 64x64 frames in 4x fewer numbers, and residual blocks whose weightless shortcuts pack pixels into channels. At
# Wan 2.1's 16 channels without them it learned far more slowly (docs/bench/experiments/toy-wan-vae/)
WAN_LATENT_CHANNELS = 48


BYTE_TOKEN_IDS = {"bos_token_id": 512, "eos_token_id": 513, "pad_token_id": 513}  # the byte-level vocabulary's


def byte_level_tokenizer(folder: Path, max_length: int = TOKENS) -> CLIPTokenizer:
    """A CLIP BPE tokenizer whose vocabulary is single bytes: real tokenization code, nothing to download."""
    write_byte_level_vocabulary(folder)
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length)


def write_byte_level_vocabulary(folder: Path) -> None:
    """vocab.json and merges.txt, the files transformers 4's CLIPTokenizer reads (5 reads tokenizer.json)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    symbols = [chr(b) for b in printable] + [chr(256 + i) for i in range(len(extra))]
    vocab = {s: i for i, s in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")


def text_encoder(width: int, seed: int) -> CLIPTextModel:
    torch.manual_seed(seed)
    return CLIPTextModel(
        CLIPTextConfig(
            hidden_size=width, intermediate_size=2 * width, num_attention_heads=2, num_hidden_layers=2,
            vocab_size=600, max_position_embeddings=TOKENS, projection_dim=width, **BYTE_TOKEN_IDS,
        )
    )  # fmt: skip


def image_encoder(width: int, image_size: int, seed: int) -> CLIPVisionModelWithProjection:
    torch.manual_seed(seed)
    return CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=width, intermediate_size=2 * width, num_attention_heads=2, num_hidden_layers=2,
            image_size=image_size, patch_size=image_size // 4, projection_dim=width,
        )
    )  # fmt: skip


def toy_components(scratch: Path, seed: int = 0, vae_width: int = 32, vae_layers: int = 1) -> dict:
    """Untrained toy components at 32x32 pixels.

    The VAE downsamples only 2x (16x16x4 latents): at 4x, an 8x8x4 latent could not hold the world's small
    objects and textures, and even the VAE alone lost a fifth to two fifths of an edit. At 16x16 the paper's
    injection sites also see 4x4 to 16x16 maps, as they see 16x16 to 64x64 on the real model.
    """
    torch.manual_seed(seed)
    unet = I2VGenXLUNet(
        sample_size=LATENT_SIZE,
        block_out_channels=(32, 32, 64, 64),
        layers_per_block=2,
        norm_num_groups=8,
        cross_attention_dim=EMBED_DIM,
        attention_head_dim=8,
    )
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL(
        block_out_channels=(vae_width, 2 * vae_width),
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,  # I2VGen-XL's UNet reads exactly 4 channels of image latents
        norm_num_groups=16,
        layers_per_block=vae_layers,
        sample_size=FRAME_SIZE,
    )
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder(EMBED_DIM, seed + 2),
        "tokenizer": byte_level_tokenizer(scratch / "tokenizer-source"),
        "image_encoder": image_encoder(EMBED_DIM, FRAME_SIZE, seed + 3),
        "feature_extractor": ImageNormalization.clip(FRAME_SIZE),
        "scheduler": DDIMScheduler(**I2VGENXL_SCHEDULER),
    }


def toy_svd_components(scratch: Path, seed: int = 0, vae_width: int = 32, vae_layers: int = 1) -> dict:
    """Untrained toy Stable Video Diffusion at 64x64 pixels: the I2VGen-XL toy's latent grid (16x16, but with
    `SVD_LATENT_CHANNELS` channels) and UNet widths, SVD's block layout (so every injection site exists),
    conditioning and scheduler config.

    The VAE keeps one width in every block: its norms have 32 groups whatever the width (diffusers fixes them),
    and 64 channels throughout give each group two, as the toy I2VGen-XL's VAE has, while keeping the whole
    model within the 15 MB a shipped toy SVD may weigh (docs/bench/experiments/toy-svd-vae/)."""
    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(
        sample_size=LATENT_SIZE, in_channels=2 * SVD_LATENT_CHANNELS, out_channels=SVD_LATENT_CHANNELS,
        block_out_channels=(32, 32, 64, 64),
        layers_per_block=2, cross_attention_dim=EMBED_DIM, num_attention_heads=(4, 4, 8, 8),
        addition_time_embed_dim=8, projection_class_embeddings_input_dim=24, num_frames=FRAMES,
    )  # fmt: skip
    torch.manual_seed(seed + 1)
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=(vae_width,) * 3, down_block_types=["DownEncoderBlock2D"] * 3,
        latent_channels=SVD_LATENT_CHANNELS, layers_per_block=vae_layers, sample_size=SVD_FRAME_SIZE,
    )  # fmt: skip
    return {
        "unet": unet,
        "vae": vae,
        "image_encoder": image_encoder(EMBED_DIM, SVD_CLIP_SIZE, seed + 3),
        "feature_extractor": ImageNormalization.clip(SVD_CLIP_SIZE),
        "scheduler": EulerDiscreteScheduler(**SVD_SCHEDULER),
    }


def toy_wan_components(scratch: Path, seed: int = 0, vae_width: int = 32, vae_layers: int = 1) -> dict:
    """Untrained toy Wan, conditioned as Wan 2.2 is (the first latent frame is the clean image latent, told
    noise level zero), at 9 frames of 64x64: a causal 3D VAE of Wan 2.2's design compressing 4x in space and in
    time to 3 latent frames of 16x16 with `WAN_LATENT_CHANNELS` channels, a diffusion transformer of Wan's class
    over 1x2x2 patches (8 blocks, so that block ranges given as shares of the depth pick distinct blocks), a
    small UMT5."""
    from anyv2v.evaluation.full_size import character_tokenizer

    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=32, in_channels=WAN_LATENT_CHANNELS,
        out_channels=WAN_LATENT_CHANNELS, text_dim=EMBED_DIM, freq_dim=64, ffn_dim=4 * 128, num_layers=8,
        rope_max_seq_len=32,
    )  # fmt: skip
    torch.manual_seed(seed + 1)
    vae = AutoencoderKLWan(
        base_dim=vae_width, z_dim=WAN_LATENT_CHANNELS, dim_mult=[1, 2, 2], num_res_blocks=vae_layers,
        temperal_downsample=[True, True], latents_mean=[0.0] * WAN_LATENT_CHANNELS,
        latents_std=[1.0] * WAN_LATENT_CHANNELS, scale_factor_spatial=4, scale_factor_temporal=4, is_residual=True,
    )  # fmt: skip
    tokenizer = character_tokenizer()
    torch.manual_seed(seed + 2)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer), d_model=EMBED_DIM, d_kv=16, d_ff=2 * EMBED_DIM, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, relative_attention_max_distance=16,
        )
    )  # fmt: skip
    return {
        "transformer": transformer,
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "scheduler": UniPCMultistepScheduler.from_config(WAN_SCHEDULER),
    }


@dataclass(frozen=True)
class ToyDesign:
    """What the toy models of two backbones differ in; the world, its data and the training loop are shared."""

    backbone: str  # the backbone's name
    pipeline: str  # model_index.json's _class_name, as the hub model has it
    frame_size: int  # pixels, square
    components: Callable[..., dict]  # (scratch, seed, vae_width, vae_layers) -> untrained components
    vae_width_multiple: int  # the VAE's norm groups split its widths into equal parts
    # What the VAE learns on: "frames" (single frames, each from its own clip), "frame groups" (such frames,
    # decoded `frames` at a time by a decoder that mixes frames), "clip frames" (whole clips as frames, which
    # its decoder mixes), "clips" (whole clips as one video tensor, a 3D VAE's input), "frames and clips"
    # (single frames as 1-frame clips, a causal 3D VAE's image mode, and whole clips, in every step)
    vae_input: str
    frames: int = FRAMES  # of a training clip
    settings: dict = field(default_factory=dict)  # the backbone's own, as model_index.json records them
    vae_width: int = 32  # the VAE's width unless `train-toy --vae-width` names one
    decoder_input: str = ""  # what the last stage, the decoder alone, learns on, where not `vae_input`
    vae_lr: float = 1e-3  # the VAE's learning rate unless `train-toy --vae-lr` names one


TOY_DESIGNS = {
    "i2vgen-xl": ToyDesign("i2vgen-xl", "I2VGenXLPipeline", FRAME_SIZE, toy_components, 16, "frames"),
    # SVD's VAE learns on frames of many clips at once, as its image VAE did before the temporal decoder was
    # added; whole clips, only two scenes a step, averaged its colours. The decoder's last stage reads clips.
    "svd": ToyDesign(
        "svd",
        "StableVideoDiffusionPipeline",
        SVD_FRAME_SIZE,
        toy_svd_components,
        32,
        "frame groups",
        vae_width=64,
        decoder_input="clip frames",
    ),
    "wan": ToyDesign(
        "wan",
        "WanImageToVideoPipeline",
        WAN_FRAME_SIZE,
        toy_wan_components,
        8,
        # Whole clips alone are one scene a step (the toy SVD's VAE averaged its colours on two): frames of
        # many clips keep the steps varied, the clips teach the temporal layers
        "frames and clips",
        WAN_FRAMES,
        {"expand_timesteps": True},
        # At 1e-3 its encoder drops chroma within 50 steps and decodes grey; at 1e-4 the chroma its latent
        # holds grows (docs/bench/experiments/toy-wan-vae/)
        vae_lr=1e-4,
    ),
}


def save_diffusers_layout(
    components: dict,
    folder: Path,
    pipeline: str = "I2VGenXLPipeline",
    settings: dict | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """model_index.json (with the pipeline's `settings`) plus one subfolder per component, as the hub's models
    are laid out; the weights in `dtype` (loading casts them to the run's dtype)."""
    folder.mkdir(parents=True, exist_ok=True)
    index = {"_class_name": pipeline, "_diffusers_version": diffusers.__version__, **(settings or {})}
    for name, component in components.items():
        library = "diffusers" if type(component).__module__.startswith("diffusers") else "transformers"
        kind = "CLIPImageProcessor" if isinstance(component, ImageNormalization) else type(component).__name__
        index[name] = [library, kind]
        if isinstance(component, torch.nn.Module):
            component.to(dtype).save_pretrained(folder / name, safe_serialization=True)
        else:
            component.save_pretrained(folder / name)
        if isinstance(component, CLIPTokenizer):
            write_byte_level_vocabulary(folder / name)  # loadable by transformers 4 and 5 alike
        if isinstance(component, CLIPTextModel):
            prefix_text_model_keys(folder / name / "model.safetensors")
    (folder / "model_index.json").write_text(json.dumps(index, indent=2, sort_keys=True))
    return folder


def prefix_text_model_keys(path: Path) -> None:
    """Store CLIPTextModel weights under `text_model.`, as transformers 4 (and the hub) lay them out.

    transformers 5 saves them without the prefix, which transformers 4 silently ignores, initializing a random
    text encoder instead; transformers 5 reads both layouts.
    """
    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata()
        tensors = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118 (safe_open is not a dict)
    renamed = {key if key.startswith("text_model.") else f"text_model.{key}": value for key, value in tensors.items()}
    save_file(renamed, str(path), metadata=metadata)
