"""AnyV2VPipeline: orchestrates encoding, inversion, injected sampling and decoding; owns no algorithm."""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from diffusers import DDIMInverseScheduler, DDIMScheduler
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image
from tqdm.auto import tqdm

from anyv2v.backbones import Backbone, Condition, FrameEncoding, backbone_class
from anyv2v.config import DEFAULT_PRESET, PRESETS, EditConfig
from anyv2v.errors import AnyV2VError
from anyv2v.injection import FeatureInjector, injection_schedule
from anyv2v.inversion import INVERTERS, InversionCache, default_cache_dir, model_fingerprint
from anyv2v.profiling import StageCosts
from anyv2v.sampling import SourceBranch, sample
from anyv2v.video import fit_to_size

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class RunStats:
    """What the last call cost and did; benchmarks and tests read it."""

    unet_calls: int = 0
    unet_batch_items: int = 0
    injections: Counter = field(default_factory=Counter)  # (kind, timestep) -> hook calls that injected
    inversion_cache_hit: bool = False
    costs: StageCosts = field(default_factory=StageCosts)  # seconds and peak memory per stage


class AnyV2VPipeline:
    def __init__(
        self,
        backbone: Backbone,
        config: EditConfig | None = None,
        *,
        model_id: str = "",
        cache: InversionCache | None = None,
        progress: bool = True,
    ):
        self.backbone = backbone
        self.config = (config or PRESETS[DEFAULT_PRESET]).validate()
        self.model_id = model_id
        self.model_fingerprint = model_fingerprint(model_id)
        self.cache = cache
        self.progress = progress
        self.stats = RunStats()

    @classmethod
    def from_pretrained(
        cls,
        model: str | None = None,
        *,
        backbone: str = "i2vgen-xl",
        torch_dtype: torch.dtype | str | None = None,
        device: str | torch.device | None = None,
        variant: str | None = None,
        offload: bool = False,
        config: EditConfig | None = None,
        cache_dir: str | None = None,
        use_cache: bool = True,
        progress: bool = True,
    ) -> AnyV2VPipeline:
        """Load a backbone from a hub id or a local diffusers-layout folder."""
        kind = backbone_class(backbone)
        model = model or kind.default_model
        device = resolve_device(device)
        dtype = resolve_dtype(torch_dtype, device)
        loaded = kind.from_pretrained(model, dtype=dtype, device=device, variant=variant)
        if offload:
            loaded.enable_cpu_offload()
        cache = InversionCache(cache_dir or default_cache_dir()) if use_cache else None
        return cls(loaded, config, model_id=model, cache=cache, progress=progress)

    def invert(self, source_frames: list[Image.Image], *, config: EditConfig | None = None) -> dict[int, torch.Tensor]:
        """Inverted source latents by timestep, from the cache when an identical inversion was done before."""
        config = (config or self.config).validate()
        self.stats = RunStats()
        frames = self._prepare_frames(source_frames, config)
        frame = self.backbone.encode_frame(frames[0], sample=False, generator=None)
        condition = self._condition(config.inversion.prompt, frame, config)
        return self._inverted_latents(frames, config, frame, condition, None)

    def edit(
        self,
        source_frames: list[Image.Image],
        edited_first_frame: Image.Image,
        prompt: str,
        *,
        negative_prompt: str | None = None,
        config: EditConfig | None = None,
        generator: torch.Generator | None = None,
        output_type: Literal["pil", "np", "latent"] = "pil",
    ) -> list[Image.Image] | np.ndarray | torch.Tensor:
        """The source video re-generated from the edited first frame, keeping the source's layout and motion."""
        config = (config or self.config).validate()
        self.stats = RunStats()
        with self._stage("encode"):
            frames = self._prepare_frames(source_frames, config)
            condition = self._edit_condition(edited_first_frame, prompt, negative_prompt, config, generator)
        scheduler, timesteps = self._sampling_schedule(config)
        first = self._first_step(config)
        source = self._source_branch(frames, config, generator) if config.needs_inversion else None
        if config.sampling.init == "inverted":
            latents = source.latents[int(timesteps[first])]
        else:
            video = config.video
            shape = self.backbone.latent_shape(video.num_frames, video.height, video.width)
            latents = randn_tensor(shape, generator=generator, device=self.backbone.device, dtype=self.backbone.dtype)
            latents = latents * scheduler.init_noise_sigma

        backbone, sampling = self.backbone, config.sampling
        schedule = injection_schedule(config.injection, [int(t) for t in timesteps], first)
        with self._stage("sampling"), FeatureInjector(backbone.injection_sites(config.injection), schedule) as injector:
            latents = sample(
                self._predict, scheduler, latents, timesteps[first:], condition, sampling.guidance_scale,
                source=source, injector=injector if config.injection.enabled else None,
                generator=generator, eta=sampling.eta, progress=self.progress_bar,
            )  # fmt: skip
        self.stats.injections = injector.fired
        if output_type == "latent":
            return latents
        with self._stage("decode"):
            decoded = backbone.decode_video(latents, config.vae.decode_chunk_size, self.progress_bar).cpu().numpy()
        return decoded if output_type == "np" else to_pil_frames(decoded)

    def _edit_condition(
        self,
        edited_first_frame: Image.Image,
        prompt: str,
        negative_prompt: str | None,
        config: EditConfig,
        generator: torch.Generator | None,
    ) -> Condition:
        """[negative, edit] branches (just [edit] without guidance), both conditioned on the edited frame."""
        video, sampling = config.video, config.sampling
        edited = fit_to_size(edited_first_frame.convert("RGB"), (video.height, video.width))
        frame = self.backbone.encode_frame(edited, sample=config.vae.encode == "sample", generator=generator)
        branches = [self._condition(prompt, frame, config)]
        if sampling.guidance_scale > 1:
            negative = sampling.negative_prompt if negative_prompt is None else negative_prompt
            branches.insert(0, self._condition(negative, frame, config, drop_image=True))
        return Condition.cat(branches)

    def _source_branch(
        self, frames: list[Image.Image], config: EditConfig, generator: torch.Generator | None
    ) -> SourceBranch:
        """The inverted source latents, and the conditions the source branch runs with (those of the inversion)."""
        with self._stage("encode"):
            frame = self.backbone.encode_frame(frames[0], sample=config.vae.encode == "sample", generator=generator)
            condition = self._condition(config.inversion.prompt, frame, config)
        return SourceBranch(self._inverted_latents(frames, config, frame, condition, generator), condition)

    def _condition(
        self, prompt: str, frame: FrameEncoding, config: EditConfig, *, drop_image: bool = False
    ) -> Condition:
        video = config.video
        text = self.backbone.encode_text(prompt)
        return self.backbone.condition(text, frame, video.num_frames, video.fps, drop_image=drop_image)

    def _inverted_latents(
        self,
        frames: list[Image.Image],
        config: EditConfig,
        source_frame: FrameEncoding,
        source_condition: Condition,
        generator: torch.Generator | None,
    ) -> dict[int, torch.Tensor]:
        """Inverted with the source branch's own condition (plus a negative branch if the inversion is guided)."""
        _, timesteps = self._sampling_schedule(config)
        keep = [int(t) for t in timesteps[self._first_step(config) :]]
        inverse = DDIMInverseScheduler.from_config(self.backbone.scheduler_config)
        inverse.set_timesteps(config.inversion.steps, device=self.backbone.device)
        check_timesteps_match(keep, [int(t) for t in inverse.timesteps], config)

        cache_key = self._cache_key(frames, config)
        if cache_key is not None:
            cached = self.cache.load(cache_key, keep, self.backbone.device)
            if cached is not None:
                self.stats.inversion_cache_hit = True
                return cached

        sample_latents = config.vae.encode == "sample"
        with self._stage("encode"):
            latents = self.backbone.encode_video(frames, sample=sample_latents, generator=generator)
            branches = [source_condition]
            if config.inversion.guidance_scale > 1:
                negative = self._condition(config.sampling.negative_prompt, source_frame, config, drop_image=True)
                branches.insert(0, negative)
        with self._stage("inversion"):
            inverted = INVERTERS[config.inversion.solver](
                self._predict, inverse, latents, Condition.cat(branches), config.inversion.guidance_scale, keep,
                progress=self.progress_bar,
            )  # fmt: skip
        if cache_key is not None:
            self.cache.save(cache_key, inverted, {"model": self.model_id, "config": config.to_dict()})
        return inverted

    def _cache_key(self, frames: list[Image.Image], config: EditConfig) -> str | None:
        """None when caching is off, or when sampled VAE latents make the inversion depend on the RNG."""
        if self.cache is None or config.vae.encode == "sample":
            return None
        pixels = hashlib.sha256()
        for frame in frames:
            pixels.update(frame.tobytes())
        return InversionCache.key(
            backbone=self.backbone.name,
            model=self.model_fingerprint,
            video=pixels.hexdigest(),
            video_config=config.video,
            inversion=config.inversion,
            guided_negative=config.sampling.negative_prompt if config.inversion.guidance_scale > 1 else None,
            dtype=str(self.backbone.dtype),
        )

    def _sampling_schedule(self, config: EditConfig) -> tuple[DDIMScheduler, torch.Tensor]:
        scheduler = DDIMScheduler.from_config(self.backbone.scheduler_config)
        scheduler.set_timesteps(config.sampling.steps, device=self.backbone.device)
        return scheduler, scheduler.timesteps

    @staticmethod
    def _first_step(config: EditConfig) -> int:
        return config.sampling.start_step if config.sampling.init == "inverted" else 0

    def _prepare_frames(self, frames: list[Image.Image], config: EditConfig) -> list[Image.Image]:
        video = config.video
        if len(frames) < video.num_frames:
            raise AnyV2VError(
                f"the source has {len(frames)} frames but {video.num_frames} are needed: "
                "pass more frames or lower num_frames"
            )
        size = (video.height, video.width)
        return [fit_to_size(frame.convert("RGB"), size) for frame in frames[: video.num_frames]]

    def _predict(self, latents: torch.Tensor, timestep: torch.Tensor, condition: Condition) -> torch.Tensor:
        self.stats.unet_calls += 1
        self.stats.unet_batch_items += latents.shape[0]
        return self.backbone.predict(latents, timestep, condition)

    def _stage(self, name: str):
        return self.stats.costs.measure(name, self.backbone.device)

    def progress_bar(self, iterable, description: str):
        return tqdm(iterable, desc=description, disable=not self.progress, leave=False)


def check_timesteps_match(needed: list[int], inversion: list[int], config: EditConfig) -> None:
    """The sampler looks inverted latents up by timestep, so each one it needs must be an inversion step."""
    missing = sorted(set(needed) - set(inversion), reverse=True)
    if missing:
        steps = config.sampling.steps
        raise AnyV2VError(
            f"{config.inversion.steps} inversion steps do not reach sampling timesteps {missing[:3]} of "
            f"{steps} sampling steps: use an inversion step count that is a multiple of {steps} (e.g. {steps * 10})"
        )


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise AnyV2VError(f"unknown device {device!r}: use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise AnyV2VError("CUDA is not available here: use --device cpu (or install a CUDA build of torch)")
    return resolved


def resolve_dtype(dtype: torch.dtype | str | None, device: torch.device) -> torch.dtype:
    """Half precision on GPUs by default; on the CPU, float32, since half precision is slow or unsupported."""
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise AnyV2VError(f"unknown dtype {dtype!r}: use one of {', '.join(DTYPES)}")
        dtype = DTYPES[dtype]
    if dtype is None:
        return torch.float16 if device.type == "cuda" else torch.float32
    if device.type == "cpu" and dtype != torch.float32:
        warnings.warn(f"{dtype} is not supported well on the CPU: using float32 instead", stacklevel=3)
        return torch.float32
    return dtype


def to_pil_frames(video: np.ndarray) -> list[Image.Image]:
    """(frames, H, W, 3) floats in [0, 1] to 8-bit images, rounding as diffusers does."""
    return [Image.fromarray(frame) for frame in (video * 255).round().astype(np.uint8)]
