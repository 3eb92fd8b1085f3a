"""Train the toy I2VGen-XL from scratch on the synthetic world, reproducibly from a seed.

Two stages on the CPU: the VAE learns to reconstruct frames, then, with the VAE frozen, the UNet learns
v-prediction on clip latents conditioned on the first frame exactly as inference conditions it (the
backbone's own `encode_frame` / `condition`). The CLIP encoders stay at their seeded random weights: the toy
model is steered by its image conditions, and is trained with the empty prompt only.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler

from anyv2v.backbones.i2vgen_xl import I2VGenXL
from anyv2v.toy.model import save_diffusers_layout, toy_components
from anyv2v.toy.world import HELDOUT_SEEDS, random_scene, render, render_frame

SIZE, FRAMES, FPS = 32, 8, 8.0


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    vae_steps: int = 7000
    vae_batch: int = 16  # frames, each from its own clip
    vae_lr: float = 5e-4
    decoder_steps: int = 1000  # last stage: the decoder alone, at a low rate; latents (and the UNet) unchanged
    decoder_lr: float = 1e-4
    unet_steps: int = 3000
    unet_batch: int = 4  # clips
    unet_lr: float = 4e-4
    image_dropout: float = 0.1  # zeroed image embeddings, so classifier-free guidance has something to contrast
    ema_decay: float = 0.995
    log_every: int = 50


def training_clips(seed: int) -> Iterator[np.ndarray]:
    """An endless stream of rendered clips from seeds below the held-out range."""
    rng = np.random.default_rng(seed)
    while True:
        clip_seed = int(rng.integers(0, HELDOUT_SEEDS.start))
        yield render(random_scene(clip_seed, SIZE, FRAMES))


def training_frames(seed: int) -> Iterator[np.ndarray]:
    """An endless stream of single frames, each from its own clip: a batch of them is far more varied than
    a batch of whole clips, whose frames repeat one scene, and the VAE generalizes several times faster."""
    rng = np.random.default_rng(seed)
    while True:
        clip_seed = int(rng.integers(0, HELDOUT_SEEDS.start))
        yield render_frame(random_scene(clip_seed, SIZE, FRAMES), int(rng.integers(0, FRAMES)))


def to_pixels(frames: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W, 3) to float (n, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def train_vae(vae, config: TrainConfig, log: Callable[[str], None]) -> list[float]:
    """Returns the loss of every step."""
    return _fit_autoencoder(vae, vae.parameters(), config.vae_steps, config.vae_lr, config, config.seed, "vae", log)


def refine_decoder(vae, config: TrainConfig, log: Callable[[str], None]) -> list[float]:
    """More reconstruction training for the decoder only: the encoder's latents, which the UNet learned, stay."""
    vae.requires_grad_(False)
    parameters = [*vae.decoder.parameters(), *vae.post_quant_conv.parameters()]
    for parameter in parameters:
        parameter.requires_grad_(True)
    steps, rate = config.decoder_steps, config.decoder_lr
    return _fit_autoencoder(vae, parameters, steps, rate, config, config.seed + 3, "decoder", log)


def _fit_autoencoder(vae, parameters, steps: int, rate: float, config, seed: int, name: str, log) -> list[float]:
    losses = []
    frames = training_frames(seed)
    parameters = list(parameters)
    optimizer = torch.optim.AdamW(parameters, lr=rate)
    schedule = cosine_schedule(optimizer, steps)
    vae.train()
    for step in range(1, steps + 1):
        pixels = to_pixels(np.stack([next(frames) for _ in range(config.vae_batch)]))
        posterior = vae.encode(pixels).latent_dist
        # Decode the mean, as inference does (VAEConfig.encode="mean"); sampling noise only slows learning.
        reconstruction = vae.decode(posterior.mean).sample
        loss = F.mse_loss(reconstruction, pixels) + 0.5 * F.l1_loss(reconstruction, pixels)
        loss = loss + 1e-6 * posterior.kl().mean()
        losses.append(loss.item())
        optimizer_step(loss, parameters, optimizer, schedule)
        if step % config.log_every == 0 or step == 1:
            psnr = 10 * math.log10(4 / F.mse_loss(reconstruction, pixels).item())
            log(f"{name} step {step}/{steps} loss {loss.item():.5f} psnr {psnr:.2f} dB")
    vae.eval().requires_grad_(False)
    return losses


@torch.no_grad()
def latent_scaling_factor(backbone: I2VGenXL, seed: int, clips: int = 32) -> float:
    """1 / std of the VAE's latents, so diffusion sees unit-variance data, as Stable Diffusion's VAE factor does."""
    stream = training_clips(seed + 1)
    latents = torch.cat([backbone.vae.encode(to_pixels(next(stream))).latent_dist.mean for _ in range(clips)])
    return float(1.0 / latents.std())


def train_unet(
    backbone: I2VGenXL, config: TrainConfig, log: Callable[[str], None]
) -> tuple[torch.nn.Module, list[float]]:
    """Returns the EMA copy of the UNet (the one that is shipped) and the loss of every step."""
    losses = []
    unet = backbone.unet
    scheduler = DDIMScheduler.from_config(backbone.scheduler_config)
    ema = copy.deepcopy(unet).requires_grad_(False)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.unet_lr, weight_decay=0.0)
    schedule = cosine_schedule(optimizer, config.unet_steps, warmup=min(100, config.unet_steps // 10))
    generator = torch.Generator().manual_seed(config.seed)
    clips = training_clips(config.seed + 2)
    empty_text = backbone.encode_text("")
    unet.train().requires_grad_(True)
    for step in range(1, config.unet_steps + 1):
        latents, condition = clip_batch(backbone, [next(clips) for _ in range(config.unet_batch)], empty_text)
        drop = torch.rand(len(latents), generator=generator) < config.image_dropout
        condition.image_embeddings[drop] = 0
        noise = torch.randn(latents.shape, generator=generator)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (len(latents),), generator=generator)
        noisy = scheduler.add_noise(latents, noise, timesteps)
        target = scheduler.get_velocity(latents, noise, timesteps)
        prediction = unet(
            noisy, timesteps, encoder_hidden_states=condition.text, fps=condition.fps,
            image_latents=condition.image_latents, image_embeddings=condition.image_embeddings,
        ).sample  # fmt: skip
        loss = F.mse_loss(prediction, target)
        losses.append(loss.item())
        optimizer_step(loss, unet.parameters(), optimizer, schedule)
        update_ema(ema, unet, min(config.ema_decay, (1 + step) / (10 + step)))
        if step % config.log_every == 0 or step == 1:
            log(f"unet step {step}/{config.unet_steps} loss {loss.item():.5f}")
    return ema.eval(), losses


@torch.no_grad()
def clip_batch(backbone: I2VGenXL, clips: list[np.ndarray], text: torch.Tensor):
    """Latents and conditions of a batch of clips, encoded exactly as AnyV2V encodes them at inference."""
    from anyv2v.backbones.base import Condition
    from anyv2v.toy.world import to_images

    latents, conditions = [], []
    for clip in clips:
        frames = to_images(clip)
        latents.append(backbone.encode_video(frames, sample=False, generator=None))
        first = backbone.encode_frame(frames[0], sample=False, generator=None)
        conditions.append(backbone.condition(text, first, FRAMES, FPS))
    return torch.cat(latents), Condition.cat(conditions)


def optimizer_step(loss: torch.Tensor, parameters, optimizer, schedule) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, 1.0)
    optimizer.step()
    schedule.step()


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for averaged, current in zip(ema.parameters(), model.parameters(), strict=True):
        averaged.lerp_(current, 1 - decay)


def cosine_schedule(optimizer, steps: int, warmup: int = 0):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup))) * 0.95 + 0.05

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_toy(output: Path, config: TrainConfig = TrainConfig(), log: Callable[[str], None] = print) -> Path:
    """Train both stages and save the model in diffusers layout at `output`."""
    torch.manual_seed(config.seed)
    started = time.time()
    components = toy_components(output.parent / f".{output.name}-scratch", seed=config.seed)
    train_vae(components["vae"], config, log)
    backbone = I2VGenXL(
        **{k: v for k, v in components.items() if k != "scheduler"},
        scheduler_config=components["scheduler"].config,
        device=torch.device("cpu"),
    )
    components["vae"].register_to_config(scaling_factor=latent_scaling_factor(backbone, config.seed))
    log(f"vae scaling factor {components['vae'].config.scaling_factor:.4f}")
    components["unet"], _ = train_unet(backbone, config, log)
    refine_decoder(components["vae"], config, log)
    save_diffusers_layout(components, output)
    log(f"saved {output} after {time.time() - started:.0f} s")
    return output
