"""Train a toy model (I2VGen-XL's, SVD's or Wan's: `ToyDesign`) from scratch on the synthetic world,
reproducibly from a seed, resumably.

Three stages: the VAE learns to reconstruct frames; with the VAE frozen, the UNet learns to denoise clip
latents conditioned on the first frame exactly as inference conditions it (the backbone's own `encode_frame`
/ `condition`, and its noise process's training levels and targets); last, the decoder alone refines its
reconstructions. The text encoder keeps its seeded random weights and the toy is trained with the empty
prompt only, so it is steered by its image conditions; the image encoder learns with the denoiser when
`train_image_encoder` says so, and otherwise keeps its seeded weights too.

What makes the toy behave like a real I2V model, which reproduces its conditioning frame and carries it
through time: frame 0's loss weighs more than each later frame's, and timesteps are drawn more often at high
noise, where only the condition tells what the clip holds (TrainConfig's `first_frame_weight` and
`high_noise_bias`).

Every step draws its data and noise from (seed, stage, step) alone, and each stage saves its state every
`checkpoint_every` steps, so a run stopped at any point resumes where it stopped and ends with the same
weights as an uninterrupted one. Worker processes (`workers`) can render the data ahead of the steps, as a GPU
outruns one core's rendering, without changing it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from anyv2v.backbones import backbone_class
from anyv2v.backbones.base import Backbone, Condition, component_class, read_model_index
from anyv2v.config import VideoConfig
from anyv2v.errors import AnyV2VError
from anyv2v.runtime import atomic_output
from anyv2v.toy.config import TrainConfig
from anyv2v.toy.data import FPS, FRAMES, STAGES, Footage, RenderedAhead, step_batch, step_random, training_clips
from anyv2v.toy.model import TOY_DESIGNS, ToyDesign, save_diffusers_layout
from anyv2v.toy.world import World, to_images


class Checkpoints:
    """Each stage's training state as `STAGE.pt` in a folder (tensors and numbers only, read with
    weights_only=True); a folder written under another config is refused rather than mixed in."""

    def __init__(self, folder: Path, config: TrainConfig):
        self.folder = folder
        self.config = dataclasses.asdict(config)
        # where it runs, how it logs and saves, what dtype it computes in: the weights' path stays the same
        for setting in ("device", "workers", "log_every", "checkpoint_every", "save_dtype", "compute_dtype"):
            del self.config[setting]

    def load(self, stage: str) -> dict | None:
        path = self.folder / f"{stage}.pt"
        if not path.is_file():
            return None
        state = torch.load(path, map_location="cpu", weights_only=True)
        if json.loads(state["config"]) != self.config:
            raise AnyV2VError(
                f"checkpoint '{path}' was written with other training settings: use the same settings to resume, "
                f"or delete '{self.folder}' to start over"
            )
        return state

    def save(self, stage: str, state: dict) -> None:
        with atomic_output(self.folder / f"{stage}.pt") as temporary:
            torch.save({**state, "config": json.dumps(self.config)}, temporary)


def to_pixels(frames: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W, 3) to float (n, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def run_stage(
    stage: str,
    steps: int,
    batch_size: int,
    loss_at: Callable[[int, object], torch.Tensor],
    trained: torch.nn.Module,
    parameters: list[torch.nn.Parameter],
    rate: float,
    config: TrainConfig,
    log: Callable[[str], None],
    checkpoints: Checkpoints | None,
    *,
    warmup: int = 0,
    ema: torch.nn.Module | None = None,
) -> list[float]:
    """The optimization loop every stage shares; `loss_at(step, batch)` is a step's loss on the batch that
    `data.step_batch` draws for it. Returns the loss of every step, resumed ones included."""
    optimizer = torch.optim.AdamW(parameters, lr=rate, weight_decay=0.0)
    schedule = cosine_schedule(optimizer, steps, warmup)
    state = checkpoints.load(stage) if checkpoints else None
    losses: list[float] = []
    if state is not None:
        trained.load_state_dict(state["model"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        losses = list(state["losses"])
        log(f"{stage}: resumed after step {len(losses)}/{steps}")
    remaining = range(len(losses) + 1, steps + 1)
    count, draw = stage_draws(stage, batch_size, toy_design(config), config.vae_clips)
    compute = checked_dtype(config, "compute_dtype")
    device_type = parameters[0].device.type
    render = partial(step_batch, config.seed, stage, count, footage=training_footage(config), draw=draw)
    with RenderedAhead(render, remaining, config.workers) as batches:
        for step in remaining:
            torch.manual_seed(config.seed + 7919 * step + STAGES.index(stage))  # dropout in the models draws from it
            with torch.autocast(device_type, dtype=compute, enabled=compute != torch.float32):
                loss = loss_at(step, batches(step))
            losses.append(loss.item())
            optimizer_step(loss, parameters, optimizer, schedule)
            if ema is not None:
                update_ema(ema, trained, min(config.ema_decay, (1 + step) / (10 + step)))
            if step % config.log_every == 0 or step == 1:
                log(f"{stage} step {step}/{steps} loss {loss.item():.5f}")
            if checkpoints and (step % config.checkpoint_every == 0 or step == steps):
                state = {"model": trained.state_dict(), "losses": losses, "optimizer": optimizer.state_dict(),
                         "schedule": schedule.state_dict()}  # fmt: skip
                checkpoints.save(stage, state if ema is None else {**state, "ema": ema.state_dict()})
    return losses


def stage_draws(stage: str, batch_size: int, design: ToyDesign, clips: int = 0) -> tuple[int | tuple[int, int], str]:
    """How many items a step of `stage` draws, and of which kind (`data.DRAWS`): the UNet learns on clips; a
    VAE on single frames (`batch_size` of them, each from its own clip: far more varied than a clip's
    frames), unless it reads or decodes frames together, when it takes them in groups or whole clips of
    `design.frames`, or whole clips (`clips`, else one per `design.frames` frames) beside its single frames."""
    if stage == "unet":
        return batch_size, "clips"
    vae_input = stage_input(stage, design)
    if vae_input == "frames and clips":
        return (batch_size, clips or max(1, batch_size // design.frames)), vae_input
    if vae_input == "frames":
        return batch_size, vae_input
    groups = max(1, batch_size // design.frames)
    return (groups * design.frames, "frames") if vae_input == "frame groups" else (groups, "clips")


def stage_input(stage: str, design: ToyDesign) -> str:
    return (design.decoder_input or design.vae_input) if stage == "decoder" else design.vae_input


def train_vae(vae, config: TrainConfig, log: Callable[[str], None], checkpoints: Checkpoints | None = None):
    """Returns the loss of every step."""
    vae.train().requires_grad_(True)
    design = toy_design(config)
    reconstruction = partial(_reconstruction_loss, vae, stage_input("vae", design), design.frames)
    losses = run_stage(
        "vae", config.vae_steps, config.vae_batch, reconstruction, vae, list(vae.parameters()),
        config.vae_lr or design.vae_lr, config, log, checkpoints,
    )  # fmt: skip
    vae.eval().requires_grad_(False)
    return losses


def refine_decoder(vae, config: TrainConfig, log: Callable[[str], None], checkpoints: Checkpoints | None = None):
    """More reconstruction training for the decoder only: the encoder's latents, which the UNet learned, stay."""
    vae.requires_grad_(False)
    post = getattr(vae, "post_quant_conv", None)  # SVD's temporal decoder has none
    parameters = [*vae.decoder.parameters(), *(post.parameters() if post is not None else [])]
    for parameter in parameters:
        parameter.requires_grad_(True)
    design = toy_design(config)
    reconstruction = partial(_reconstruction_loss, vae, stage_input("decoder", design), design.frames)
    losses = run_stage(
        "decoder", config.decoder_steps, config.vae_batch, reconstruction, vae, parameters, config.decoder_lr,
        config, log, checkpoints,
    )  # fmt: skip
    vae.eval().requires_grad_(False)
    return losses


def vae_pixels(batch: np.ndarray | list[np.ndarray], vae_input: str, group: int = FRAMES) -> tuple[torch.Tensor, dict]:
    """A batch of frames or clips as the VAE takes it (`ToyDesign.vae_input`), and what its decoder is told
    (`group`: how many frames a "frame groups" decoder mixes)."""
    if vae_input == "frames":
        return to_pixels(batch), {}
    if vae_input == "single-frame clips":  # a 3D VAE's image mode: (frames, 3, 1, H, W)
        return to_pixels(batch).unsqueeze(2), {}
    if vae_input == "frame groups":
        return to_pixels(batch), {"num_frames": group}
    frames = to_pixels(np.concatenate(batch))
    if vae_input == "clip frames":
        return frames, {"num_frames": len(batch[0])}
    return frames.unflatten(0, (len(batch), -1)).transpose(1, 2), {}  # (clips, 3, frames, H, W)


def _reconstruction_loss(vae, vae_input: str, group: int, step: int, batch) -> torch.Tensor:
    if vae_input == "frames and clips":  # a causal 3D VAE: its frames alone as 1-frame clips, then whole clips
        frames, clips = batch
        return sum(_reconstruction_loss(vae, kind, group, step, part)
                   for kind, part in (("single-frame clips", frames), ("clips", clips)))  # fmt: skip
    pixels, told = vae_pixels(batch, vae_input, group)
    pixels = pixels.to(vae.device)
    posterior = vae.encode(pixels).latent_dist
    # Decode the mean, as inference does (VAEConfig.encode="mean"); sampling noise only slows learning.
    reconstruction = vae.decode(posterior.mean, **told).sample
    reconstruction = reconstruction.float()  # the loss in float32 under autocast too
    loss = F.mse_loss(reconstruction, pixels) + 0.5 * F.l1_loss(reconstruction, pixels)
    return loss + 1e-6 * posterior.kl().mean()


@torch.no_grad()
def normalize_latents(vae, vae_input: str, footage: Footage, seed: int, clips: int = 32) -> str:
    """Make diffusion see unit-variance latents: Stable Diffusion's one factor (1 / std of the VAE's latents),
    or Wan's mean and std per channel. Returns what was set, for the log."""
    sample = training_clips(np.random.default_rng([seed, len(STAGES)]), clips, footage)
    batches = sample if vae_input in ("frames", "frame groups") else [[clip] for clip in sample]
    latents = torch.cat([vae.encode(vae_pixels(b, vae_input)[0].to(vae.device)).latent_dist.mean for b in batches])
    if vae.config.get("latents_std") is not None:  # Wan's VAEs normalize per channel (AutoencoderKL's: None)
        channels = latents.transpose(0, 1).flatten(1)
        vae.register_to_config(latents_mean=channels.mean(1).tolist(), latents_std=channels.std(1).tolist())
        return f"latent std per channel {', '.join(f'{v:.3f}' for v in vae.config.latents_std)}"
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return f"scaling factor {vae.config.scaling_factor:.4f}"


def train_unet(
    backbone: Backbone, config: TrainConfig, log: Callable[[str], None], checkpoints: Checkpoints | None = None
) -> tuple[dict[str, torch.nn.Module], list[float]]:
    """Returns the EMA copies of what learned, by component name (the UNet, and the image encoder where it
    learns too: the copies that are shipped), and the loss of every step."""
    learners = torch.nn.ModuleDict({backbone.denoiser: backbone.denoiser_module})
    if config.train_image_encoder:
        if getattr(backbone, "image_encoder", None) is None:
            raise AnyV2VError(f"--train-image-encoder: the {backbone.name} toy has no image encoder; drop the flag")
        learners["image_encoder"] = backbone.image_encoder
    ema = copy.deepcopy(learners).requires_grad_(False)
    learners.train().requires_grad_(True)
    warmup = min(100, config.unet_steps // 10)
    losses = run_stage(
        "unet", config.unet_steps, config.unet_batch, partial(denoiser_loss, backbone, config), learners,
        list(learners.parameters()), config.unet_lr, config, log, checkpoints, warmup=warmup, ema=ema,
    )  # fmt: skip
    learners.eval().requires_grad_(False)
    return dict(ema.eval().items()), losses


def denoiser_loss(backbone: Backbone, config: TrainConfig, step: int, clips: list[np.ndarray]) -> torch.Tensor:
    """The regression a denoiser learns from, through the backbone seam alone: each clip's latents taken to a
    drawn noise level, and the raw output that the backbone's noise process says a perfect model returns
    there. Dropped conditions are the negative branch's, the one guidance contrasts with."""
    generator = torch.Generator().manual_seed(step_random(config.seed, "unet", step)[1])
    dropped = (torch.rand(len(clips), generator=generator) < config.image_dropout).tolist()
    latents, condition = clip_batch(backbone, clips, dropped, embedding_learns=config.train_image_encoder)
    noise = torch.randn(latents.shape, generator=generator).to(backbone.device)
    process = backbone.process
    levels = [process.training_level(p) for p in training_positions(len(clips), config.high_noise_bias, generator)]
    pairs = list(zip(latents.split(1), noise.split(1), levels, strict=True))
    noised = torch.cat([process.model_input(process.noised(clean, eps, level), level) for clean, eps, level in pairs])
    target = torch.cat([process.target(clean, eps, level) for clean, eps, level in pairs])
    timesteps = torch.tensor([level.timestep for level in levels], device=backbone.device)
    prediction = backbone.denoise(noised, timesteps, condition)
    return frame_weighted_mse(prediction, target, config.first_frame_weight, backbone.latent_layout.index("F"))


def training_positions(count: int, bias: float, generator: torch.Generator) -> list[float]:
    """Positions between the cleanest and the noisiest training level with density rising as p ** (bias - 1):
    high noise levels, where the model must read the clip from its condition, get more of the training."""
    return (torch.rand(count, generator=generator) ** (1 / bias)).tolist()


def frame_weighted_mse(
    prediction: torch.Tensor, target: torch.Tensor, first_frame_weight: float, frame_axis: int = 2
) -> torch.Tensor:
    """MSE with frame 0 weighted `first_frame_weight` times each later frame; frames on `frame_axis`."""
    squared = (prediction.float() - target.float()).pow(2).movedim(frame_axis, 1)
    per_frame = squared.flatten(2).mean(dim=2)
    weights = torch.ones(per_frame.shape[1], device=per_frame.device)
    weights[0] = first_frame_weight
    return (per_frame * weights).sum(dim=1).div(weights.sum()).mean()


def clip_batch(
    backbone: Backbone, clips: list[np.ndarray], negative: list[bool] | None = None, *, embedding_learns: bool = False
) -> tuple[torch.Tensor, Condition]:
    """Latents and conditions (the empty prompt; the negative branch's where `negative` says) of a batch of
    clips, encoded exactly as AnyV2V encodes them; the image embedding keeps its gradient where
    `embedding_learns` (the encoders are gradient-free otherwise)."""
    latents, conditions = [], []
    for clip, drop in zip(clips, negative or [False] * len(clips), strict=True):
        frames = to_images(clip)
        video = VideoConfig(num_frames=len(frames), fps=FPS, height=clip.shape[1], width=clip.shape[2])
        latents.append(backbone.encode_video(frames, sample=False, generator=None))
        first = backbone.encode_frame(frames[0], sample=False, generator=None)
        if embedding_learns:
            first = dataclasses.replace(first, embedding=backbone.embed_image(frames[0]))
        conditions.append(backbone.condition("", first, video, negative=drop))
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


def toy_design(config: TrainConfig) -> ToyDesign:
    if config.backbone not in TOY_DESIGNS:
        raise AnyV2VError(
            f"no toy model is designed for backbone {config.backbone!r}: use --backbone {' or '.join(TOY_DESIGNS)}"
        )
    return TOY_DESIGNS[config.backbone]


def toy_backbone(components: dict, device: torch.device, design: ToyDesign = TOY_DESIGNS["i2vgen-xl"]) -> Backbone:
    """The backbone around freshly built toy components, as `from_pretrained` would give them once saved."""
    kind = backbone_class(design.backbone)
    return kind(**{**components, "scheduler": components["scheduler"].config}, device=device, **design.settings)


def trained_modules(components: dict) -> list[str]:
    """The components training touches or saves as weights (the CLIP encoders stay as seeded, but are saved)."""
    return [name for name, part in components.items() if isinstance(part, torch.nn.Module)]


def saved_weights(folder: Path, design: ToyDesign, names: list[str]) -> dict[str, torch.nn.Module]:
    """The modules `names` of a toy model saved by `train_toy`, to continue training from."""
    if not (folder / "model_index.json").is_file():
        raise AnyV2VError(f"'{folder}' is not a saved toy model (no model_index.json): name a `train-toy` output")
    kind = backbone_class(design.backbone)
    kind.check_family(str(folder), read_model_index(str(folder), local_only=True))
    return {
        name: component_class(kind.components[name]).from_pretrained(folder / name, use_safetensors=True).float()
        for name in names
    }


def check_counts(config: TrainConfig) -> None:
    """Step counts may be 0 (a stage skipped); what divides or sizes a step may not."""
    least = {"vae_steps": 0, "decoder_steps": 0, "unet_steps": 0, "workers": 0, "vae_batch": 1, "unet_batch": 1,
             "vae_clips": 0, "log_every": 1, "checkpoint_every": 1}  # fmt: skip
    for name, smallest in least.items():
        value = getattr(config, name)
        if value < smallest:
            option = "--" + name.replace("_", "-")
            raise AnyV2VError(f"{option} {value} is below {smallest}: give {option} {smallest} or more")


def check_vae_width(width: int, design: ToyDesign) -> None:
    multiple = design.vae_width_multiple
    if width <= 0 or width % multiple:
        raise AnyV2VError(
            f"--vae-width {width} is not a positive multiple of {multiple} (the {design.backbone} toy VAE's norm "
            f"groups): use e.g. {2 * multiple if multiple < 32 else multiple}"
        )


DTYPES = {  # setting -> (what the dtype is for, those allowed)
    "save_dtype": ("the toy models are saved in", ("float32", "float16")),
    "compute_dtype": ("toy training computes in", ("float32", "bfloat16")),
}


def checked_dtype(config: TrainConfig, setting: str) -> torch.dtype:
    name, (purpose, allowed) = getattr(config, setting), DTYPES[setting]
    if name not in allowed:
        raise AnyV2VError(f"--{setting.replace('_', '-')} {name} is not one {purpose}: use {' or '.join(allowed)}")
    return getattr(torch, name)


def avoid_amx_bfloat16_crash(device: torch.device, compute: torch.dtype) -> None:
    """On CPUs with AMX, the oneDNN inside torch 2.13 crashes or stalls in the bfloat16 weight gradient of some
    1x1x1 3D convolutions (the toy Wan's VAE: 64 to 32 channels at 64x64), so bfloat16 runs cap its ISA just
    below AMX. oneDNN reads the cap once, at its first primitive: it holds in a fresh process (the CLI's), not
    in one that has convolved before. A cap the user set stays."""
    if device.type == "cpu" and compute == torch.bfloat16:
        os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")


def training_world(config: TrainConfig) -> World:
    return World((config.object_radius_min, config.object_radius_max))


def training_footage(config: TrainConfig) -> Footage:
    design = toy_design(config)
    return Footage(design.frame_size, design.frames, training_world(config))


def checkpoint_folder(output: Path) -> Path:
    return output.with_name(f"{output.name}.checkpoints")


def train_toy(output: Path, config: TrainConfig | None = None, log: Callable[[str], None] = print) -> Path:
    """Train every stage and save the model in diffusers layout at `output`.

    Checkpoints go to `OUTPUT.checkpoints/`; running again with the same settings resumes from them.
    """
    config = config or TrainConfig()
    check_counts(config)
    device = torch.device(config.device if config.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu")
    started = time.time()
    checkpoints = Checkpoints(checkpoint_folder(output), config)
    design = toy_design(config)
    vae_width = config.vae_width or design.vae_width
    check_vae_width(vae_width, design)
    save_dtype = checked_dtype(config, "save_dtype")
    avoid_amx_bfloat16_crash(device, checked_dtype(config, "compute_dtype"))
    world = training_world(config)
    scratch = output.parent / f".{output.name}-scratch"
    components = design.components(scratch, config.seed, vae_width, config.vae_layers)
    modules = trained_modules(components)
    if config.init:
        components.update(saved_weights(Path(config.init), design, modules))
    for name in modules:
        components[name].to(device)
    train_vae(components["vae"], config, log, checkpoints)
    backbone = toy_backbone(components, device, design)
    if config.vae_steps or not config.init:  # an unchanged encoder keeps the scale its UNet was trained at
        log(f"vae {normalize_latents(components['vae'], design.vae_input, training_footage(config), config.seed)}")
    for part in backbone.models():  # only what a stage trains keeps gradients
        part.requires_grad_(False)
    learned, _ = train_unet(backbone, config, log, checkpoints)
    components.update(learned)
    refine_decoder(components["vae"], config, log, checkpoints)
    for name in modules:
        components[name].to("cpu")
    save_diffusers_layout(components, output, design.pipeline, design.settings, dtype=save_dtype)
    world.save(output)
    log(f"saved {output} after {time.time() - started:.0f} s")
    return output
