"""The toy model's training settings, apart from the training code so that the command line can list them
without loading torch."""

from __future__ import annotations

from dataclasses import dataclass, field


def _option(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainConfig:
    """Every number of a toy training run; checkpoints record them and refuse to resume under others."""

    backbone: str = _option(
        "i2vgen-xl", "which backbone's toy: i2vgen-xl (32x32 frames), svd (64x64) or wan (9 frames of 64x64)"
    )
    seed: int = _option(0, "seed of every weight initialization and random draw")
    init: str = _option("", "a saved toy model to continue from (its weights start every stage); empty: from scratch")
    object_radius_min: float = _option(0.1, "smallest object radius in the world trained on, a share of the frame size")
    object_radius_max: float = _option(0.2, "largest object radius in the world trained on (saved with the model)")
    vae_width: int = _option(
        0,
        "VAE channels: i2vgen-xl and wan, the first block's (twice that after); svd, every block's. A multiple of "
        "the VAE's norm groups (16; svd 32; wan 8). 0: the backbone's own (svd 64, two channels per norm group; "
        "others 32). With --init: the saved VAE's",
    )
    vae_layers: int = _option(1, "ResNet layers per VAE block (with --init: the saved VAE's)")
    vae_steps: int = _option(4000, "VAE training steps")
    vae_batch: int = _option(16, "frames per VAE step, each from its own clip")
    vae_clips: int = _option(
        0,
        "whole clips per VAE step beside its single frames, for a VAE that learns on both (wan's); 0: one per "
        "clip's length of --vae-batch (one for wan's 9 frames and a batch of 16)",
    )
    vae_lr: float = _option(0.0, "VAE learning rate; 0: the backbone's own (wan 1e-4, others 1e-3)")
    decoder_steps: int = _option(500, "last stage: the decoder alone, at a low rate; latents and UNet unchanged")
    decoder_lr: float = _option(1e-4, "decoder refinement learning rate")
    unet_steps: int = _option(3000, "UNet training steps")
    unet_batch: int = _option(4, "clips per UNet step")
    unet_lr: float = _option(5e-4, "UNet learning rate")
    first_frame_weight: float = _option(4.0, "loss weight of frame 0, the conditioning frame, against each other")
    high_noise_bias: float = _option(2.0, "timesteps drawn with density rising as t^(bias - 1); 1 is uniform")
    train_image_encoder: bool = _option(
        False, "the CLIP image encoder learns with the UNet (else it keeps its seeded random weights)"
    )
    image_dropout: float = _option(0.1, "share of zeroed image embeddings, so guidance has something to contrast")
    ema_decay: float = _option(0.995, "decay of the UNet's weight average (the shipped copy)")
    save_dtype: str = _option(
        "float32", "dtype of the saved weights: float16 halves the files (the weights train in float32 either way)"
    )
    compute_dtype: str = _option(
        "float32",
        "dtype the training steps compute in: bfloat16 runs them under autocast (about 1.8x faster on a CPU with "
        "AVX512-BF16 and no AMX, and on GPUs; on a CPU with AMX, whose bfloat16 path oneDNN crashes in, it runs "
        "without AMX and slower than float32); weights, optimizer state and losses stay float32, and a run may "
        "resume in either",
    )
    log_every: int = _option(50, "steps between log lines")
    checkpoint_every: int = _option(200, "steps between checkpoints (a stopped run resumes from the last)")
    device: str = _option("auto", "cuda when available, else cpu; or name one")
    workers: int = _option(0, "processes rendering training data ahead of the steps (0: the training process does)")
