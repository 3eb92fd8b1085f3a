"""AnyV2VPipeline: orchestrates encoding, inversion, injected sampling and decoding; owns no algorithm."""

from __future__ import annotations

import hashlib
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from anyv2v.acceleration import Speedups, chunked_feed_forward, kernel_settings, set_model_speedups
from anyv2v.backbones import Backbone, Condition, FrameEncoding, backbone_class
from anyv2v.backbones.base import is_guided
from anyv2v.cache import InversionCache, default_cache_dir, model_fingerprint
from anyv2v.config import EditConfig, VideoConfig
from anyv2v.errors import AnyV2VError
from anyv2v.injection import FeatureInjector, injection_schedule
from anyv2v.inversion import closest_covering_steps, grid_positions, inverter
from anyv2v.noise import NoiseLevel
from anyv2v.profiling import StageCosts
from anyv2v.runtime import TOY_MODEL, library_progress_bars, resolve_device, resolve_dtype
from anyv2v.sampling import Denoiser, GivenFrame, OnStep, SourceBranch, sample
from anyv2v.toy.shipped import shipped_model
from anyv2v.video import fit_to_size


@dataclass
class RunStats:
    """What the last call cost and did; benchmarks and tests read it."""

    unet_calls: int = 0
    unet_batch_items: int = 0
    unet_batch_items_by_stage: Counter = field(default_factory=Counter)
    unet_flops: int = 0  # counted only while `AnyV2VPipeline.count_flops` is set (it slows the run)
    injections: Counter = field(default_factory=Counter)  # (kind, sampling step) -> hook calls that injected
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
        speedups: Speedups | None = None,
    ):
        self.backbone = backbone
        self.config = self._checked(config or backbone.preset())
        self.model_id = model_id
        self.model_fingerprint = model_fingerprint(model_id)
        self.cache = cache
        self.progress = progress
        self.stats = RunStats()
        self.denoiser = Denoiser(self._predict, backbone.process, backbone.guide)
        self.speedups = speedups or Speedups()  # may change between runs; applied at the start of each
        self.count_flops = False
        self._stage_name = ""
        self._model_speedups = Speedups()  # what the denoiser has now

    @classmethod
    def from_pretrained(
        cls,
        model: str | None = None,
        *,
        backbone: str = "i2vgen-xl",
        torch_dtype: torch.dtype | str | None = None,
        device: str | torch.device | None = None,
        variant: str | None = None,
        offload: bool | Literal["model", "sequential"] = False,
        config: EditConfig | None = None,
        cache_dir: str | None = None,
        use_cache: bool = True,
        progress: bool = True,
        speedups: Speedups | None = None,
    ) -> AnyV2VPipeline:
        """Load a backbone from a hub id or a local diffusers-layout folder (default: the backbone's model);
        "toy" names the backbone's toy model shipped inside the package. `offload`: True or "model" moves each model
        to the GPU while it runs, "sequential" each layer."""
        kind = backbone_class(backbone)
        model = str(shipped_model(kind.name)) if model == TOY_MODEL else model or kind.default_model
        device = resolve_device(device)
        dtype = resolve_dtype(torch_dtype, device)
        with library_progress_bars(progress):
            loaded = kind.from_pretrained(model, dtype=dtype, device=device, variant=variant)
        if offload:
            loaded.enable_cpu_offload(sequential=offload == "sequential")
        cache = InversionCache(cache_dir or default_cache_dir()) if use_cache else None
        return cls(loaded, config, model_id=model, cache=cache, progress=progress, speedups=speedups)

    def invert(self, source_frames: list[Image.Image], *, config: EditConfig | None = None) -> dict[int, torch.Tensor]:
        """Inverted source latents by position on the sampling grid, from the cache when an identical
        inversion was done before."""
        config = self._checked(config or self.config)
        self.stats = RunStats()
        with self._accelerated():
            return self._inverted_latents(self._prepare_frames(source_frames, config), config, None)

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
        anchor_frame: Image.Image | None = None,
        on_step: OnStep | None = None,
    ) -> list[Image.Image] | np.ndarray | torch.Tensor:
        """The source video re-generated from the edited first frame, keeping the source's layout and motion.

        `anchor_frame`: a frame whose image embedding conditions the edit in place of the edited first frame's
        (a later window of a long edit keeps the user's edited frame as its look; see windows.py).
        `on_step(position, prediction)` sees every sampling step's guided prediction (clean latent and noise).
        """
        config = self._checked(config or self.config)
        self.stats = RunStats()
        with self._accelerated():
            return self._edit(source_frames, edited_first_frame, prompt, negative_prompt, config, generator,
                              output_type, anchor_frame, on_step)  # fmt: skip

    def _edit(
        self,
        source_frames: list[Image.Image],
        edited_first_frame: Image.Image,
        prompt: str,
        negative_prompt: str | None,
        config: EditConfig,
        generator: torch.Generator | None,
        output_type: Literal["pil", "np", "latent"],
        anchor_frame: Image.Image | None,
        on_step: OnStep | None,
    ) -> list[Image.Image] | np.ndarray | torch.Tensor:
        backbone, sampling = self.backbone, config.sampling
        with self._stage("encode"):
            frames = self._prepare_frames(source_frames, config)
            condition = self._edit_condition(
                edited_first_frame, prompt, negative_prompt, config, generator, anchor_frame
            )
            given = self._given_first_frame(edited_first_frame, config, generator)
        grid = backbone.process.grid(sampling.steps)
        first = self._first_step(config)
        fractions = backbone.injection_fractions(config.injection)
        injecting = any(fractions.values())
        source = self._source_branch(frames, config, generator) if sampling.init == "inverted" or injecting else None
        if sampling.init == "inverted":
            latents = source.latents[first]
        else:
            noise = randn_tensor(backbone.latent_shape(config.video), generator=generator, device=backbone.device,
                                 dtype=backbone.dtype)  # fmt: skip
            latents = noise * backbone.process.initial_scale(grid[0])

        schedule = injection_schedule(fractions, sampling.steps, first, config.injection.count_skipped_steps)
        sites = backbone.injection_sites(config.injection)
        with self._stage("sampling"), FeatureInjector(sites, schedule, backbone.device) as injector:
            latents = sample(
                self.denoiser, latents, grid, condition, sampling.guidance_scale, start=first,
                source=source, injector=injector if injecting else None, generator=generator, eta=sampling.eta,
                progress=self.progress_bar, on_step=on_step, given_first=given,
            )  # fmt: skip
        self.stats.injections = injector.fired
        if output_type == "latent":
            return latents
        with self._stage("decode"):
            decoded = backbone.decode_video(latents, config.vae.decode_chunk_size, self.progress_bar).cpu().numpy()
        return decoded if output_type == "np" else to_pil_frames(decoded)

    def _given_first_frame(
        self, edited_first_frame: Image.Image, config: EditConfig, generator: torch.Generator | None
    ) -> GivenFrame | None:
        """With `sampling.first_frame = "given"`, the edited frame's latent as the video's first latent frame (a
        one-frame clip, encoded as a clip is)."""
        if config.sampling.first_frame != "given":
            return None
        backbone = self.backbone
        frame = fitted(edited_first_frame, config.video)
        latent = backbone.encode_video([frame], sample=config.vae.encode == "sample", generator=generator)
        return GivenFrame(latent, backbone.latent_layout.index("F"))

    def _checked(self, config: EditConfig) -> EditConfig:
        config.validate()
        self.backbone.check(config)
        self.backbone.prepare(config)
        return config

    def _edit_condition(
        self,
        edited_first_frame: Image.Image,
        prompt: str,
        negative_prompt: str | None,
        config: EditConfig,
        generator: torch.Generator | None,
        anchor_frame: Image.Image | None = None,
    ) -> Condition:
        """[negative, edit] branches (just [edit] without guidance), both conditioned on the edited frame."""
        video, sampling = config.video, config.sampling
        edited, anchor = (
            None if frame is None else fitted(frame, video) for frame in (edited_first_frame, anchor_frame)
        )
        negative = sampling.negative_prompt if negative_prompt is None else negative_prompt
        guided = is_guided(sampling.guidance_scale)
        return self._branches(edited, prompt, negative if guided else None, config, generator, anchor)

    def _source_conditions(
        self, frames: list[Image.Image], config: EditConfig, generator: torch.Generator | None, *, guided: bool
    ) -> Condition:
        """The source's first frame with the inversion prompt, after a negative branch if `guided`. Encoded per
        call: with `vae.encode = "sample"` the inversion and the source branch then draw their own latent of
        it, as the official code's two scripts do."""
        negative = config.sampling.negative_prompt if guided else None
        return self._branches(frames[0], config.inversion.prompt, negative, config, generator)

    def _branches(
        self,
        first_frame: Image.Image,
        prompt: str,
        negative_prompt: str | None,
        config: EditConfig,
        generator: torch.Generator | None,
        anchor_frame: Image.Image | None = None,
    ) -> Condition:
        """[negative, conditional] branches on one encoding of the frame; just [conditional] when
        `negative_prompt` is None. With an `anchor_frame`, the image embedding is that frame's."""
        sample = config.vae.encode == "sample"
        frame = self.backbone.encode_frame(first_frame, sample=sample, generator=generator)
        if anchor_frame is not None:
            anchor = self.backbone.encode_frame(anchor_frame, sample=sample, generator=generator)
            frame = FrameEncoding(anchor.embedding, frame.latent)
        branches = [self.backbone.condition(prompt, frame, config.video)]
        if negative_prompt is not None:
            branches.insert(0, self.backbone.condition(negative_prompt, frame, config.video, negative=True))
        return Condition.cat(branches)

    def _source_branch(
        self, frames: list[Image.Image], config: EditConfig, generator: torch.Generator | None
    ) -> SourceBranch:
        """The inverted source latents, and the conditions the source branch runs with (those of the inversion)."""
        with self._stage("encode"):
            condition = self._source_conditions(frames, config, generator, guided=False)
        return SourceBranch(self._inverted_latents(frames, config, generator), condition)

    def _inverted_latents(
        self, frames: list[Image.Image], config: EditConfig, generator: torch.Generator | None
    ) -> dict[int, torch.Tensor]:
        """By sampling-grid position; inverted on the inversion's own grid with the source branch's condition
        (plus a negative branch if the inversion is guided)."""
        grid = self.backbone.process.grid(config.inversion.steps)
        positions = self._inversion_positions(grid, config)

        cache_key = self._cache_key(frames, config)
        if cache_key is not None:
            shape = self.backbone.latent_shape(config.video)
            cached = self.cache.load(cache_key, positions.values(), shape, self.backbone.device)
            if cached is not None:
                self.stats.inversion_cache_hit = True
                if self.progress:
                    tqdm.write(f"inversion: reusing {self.cache.path(cache_key)}", file=sys.stderr)
                return {j: cached[i] for j, i in positions.items()}

        with self._stage("encode"):
            latents = self.backbone.encode_video(frames, sample=config.vae.encode == "sample", generator=generator)
            condition = self._source_conditions(
                frames, config, generator, guided=is_guided(config.inversion.guidance_scale)
            )
        with self._stage("inversion"):
            inverted = inverter(config.inversion)(
                self.denoiser, latents, grid, condition, config.inversion.guidance_scale,
                set(positions.values()), progress=self.progress_bar,
            )  # fmt: skip
        if cache_key is not None:
            self.cache.save(cache_key, inverted, {"model": self.model_id, "config": config.to_dict()})
        return {j: inverted[i] for j, i in positions.items()}

    def _inversion_positions(self, inversion_grid: list[NoiseLevel], config: EditConfig) -> dict[int, int]:
        """Sampling-grid position -> inversion-grid position of every level the sampler starts from or injects
        at; each must lie on the inversion grid."""
        process, steps, first = self.backbone.process, config.sampling.steps, self._first_step(config)
        needed = process.grid(steps)[first:steps]
        positions = grid_positions(needed, inversion_grid)
        if None in positions:
            suggestion = closest_covering_steps(needed, process.grid, config.inversion.steps)
            fix = f"use {suggestion} inversion steps" if suggestion else "change the sampling steps"
            raise AnyV2VError(
                f"the {config.inversion.steps}-step inversion grid does not hold every level the {steps} sampling "
                f"steps start from: {fix} (--inversion-steps)"
            )
        return dict(enumerate(positions, start=first))

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
            guided_negative=config.sampling.negative_prompt if is_guided(config.inversion.guidance_scale) else None,
            dtype=str(self.backbone.dtype),
        )

    @staticmethod
    def _first_step(config: EditConfig) -> int:
        return config.sampling.start_step if config.sampling.init == "inverted" else 0

    def _prepare_frames(self, frames: list[Image.Image], config: EditConfig) -> list[Image.Image]:
        """The config's frame count and size; what that drops or resizes of the input is said in one line."""
        video = config.video
        if len(frames) < video.num_frames:
            raise AnyV2VError(
                f"the source has {len(frames)} frames but {video.num_frames} are needed: "
                "pass more frames or lower num_frames"
            )
        if len(frames) > video.num_frames:
            warnings.warn(
                f"editing the first {video.num_frames} of the {len(frames)} frames given: set video.num_frames "
                "to edit more",
                stacklevel=3,
            )
        width, height = frames[0].size
        if (height, width) != (video.height, video.width):
            warnings.warn(
                f"resizing the {width}x{height} frames to {video.width}x{video.height} (cropping to that aspect): "
                "set video.width and video.height to change it",
                stacklevel=3,
            )
        return [fitted(frame, video) for frame in frames[: video.num_frames]]

    def _predict(self, latents: torch.Tensor, timestep: torch.Tensor, condition: Condition) -> torch.Tensor:
        self.stats.unet_calls += 1
        self.stats.unet_batch_items += latents.shape[0]
        self.stats.unet_batch_items_by_stage[self._stage_name] += latents.shape[0]
        if not self.count_flops:
            return self.backbone.predict(latents, timestep, condition)
        with FlopCounterMode(display=False) as counter:
            output = self.backbone.predict(latents, timestep, condition)
        self.stats.unet_flops += counter.get_total_flops()
        return output

    @contextmanager
    def _accelerated(self) -> Iterator[None]:
        """The speed switches for one run: the denoiser's own changed only when they differ from last run's."""
        self.speedups.validate()
        self.speedups.check_device(self.backbone.device)
        model_part = Speedups(compile=self.speedups.compile, channels_last=self.speedups.channels_last)
        if model_part != self._model_speedups:
            set_model_speedups(self.backbone.denoiser_module, model_part)
            self._model_speedups = model_part
        with (
            kernel_settings(self.speedups),
            chunked_feed_forward(self.backbone.denoiser_module, self.speedups.feed_forward_chunks),
        ):
            yield

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        outer, self._stage_name = self._stage_name, name  # the stage UNet batch items are counted under
        try:
            with self.stats.costs.measure(name, self.backbone.device):
                yield
        finally:
            self._stage_name = outer

    def progress_bar(self, iterable, description: str):
        return tqdm(iterable, desc=description, disable=not self.progress, leave=False)


def to_pil_frames(video: np.ndarray) -> list[Image.Image]:
    """(frames, H, W, 3) floats in [0, 1] to 8-bit images, rounding as diffusers does."""
    return [Image.fromarray(frame) for frame in (video * 255).round().astype(np.uint8)]


def fitted(frame: Image.Image, video: VideoConfig) -> Image.Image:
    """An RGB frame at the video's size, as every frame the models see is."""
    return fit_to_size(frame.convert("RGB"), (video.height, video.width))
