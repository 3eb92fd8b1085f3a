"""What AnyV2V needs from an image-to-video model: one subclass per backbone.

The sampling, inversion and injection code only talks to this interface, so a new backbone (ConsistI2V,
SEINE, a DiT model) is one new module that encodes its conditions, predicts, and names its injection sites.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from PIL import Image
from torch import nn

from anyv2v.config import InjectionConfig
from anyv2v.errors import AnyV2VError

Progress = Callable[[Iterable, str], Iterable]


@dataclass
class Condition:
    """Batched model conditions; subclasses add tensor fields whose first dimension is the batch."""

    @classmethod
    def cat(cls, conditions: list[Condition]) -> Condition:
        """Stack branches along the batch, the layout that injection hooks split again."""
        kind = type(conditions[0])
        return kind(**{f.name: torch.cat([getattr(c, f.name) for c in conditions]) for f in dataclasses.fields(kind)})


@dataclass(frozen=True)
class FrameEncoding:
    """A conditioning frame as the model sees it: its image embedding and its latent."""

    embedding: torch.Tensor
    latent: torch.Tensor


@dataclass(frozen=True)
class InjectionSites:
    """Modules whose outputs carry the features AnyV2V copies from the source branch."""

    conv: list[nn.Module]
    spatial_attention: list[nn.Module]  # query and key projections of spatial self-attention
    temporal_attention: list[nn.Module]  # query and key projections of temporal self-attention

    def by_kind(self) -> dict[str, list[nn.Module]]:
        return {
            "conv": self.conv,
            "spatial_attention": self.spatial_attention,
            "temporal_attention": self.temporal_attention,
        }


class Backbone(ABC):
    """An image-to-video diffusion model seen through the operations AnyV2V performs with it."""

    name: ClassVar[str]
    default_model: ClassVar[str]
    required_subfolders: ClassVar[tuple[str, ...]]

    scheduler_config: dict
    device: torch.device
    dtype: torch.dtype

    @classmethod
    @abstractmethod
    def from_pretrained(
        cls, model: str, *, dtype: torch.dtype, device: torch.device, variant: str | None = None
    ) -> Backbone:
        """Load from a hub id or a local folder in diffusers layout, the same code path for both."""

    @abstractmethod
    def encode_text(self, prompt: str) -> torch.Tensor: ...

    @abstractmethod
    def encode_frame(self, frame: Image.Image, *, sample: bool, generator: torch.Generator | None) -> FrameEncoding:
        """Encode a conditioning frame once; several branches reuse it."""

    @abstractmethod
    def condition(
        self, text: torch.Tensor, frame: FrameEncoding, num_frames: int, fps: float, *, drop_image: bool = False
    ) -> Condition:
        """Conditions for one branch; `drop_image` zeroes the image embedding as the negative branch needs."""

    @abstractmethod
    def encode_video(
        self, frames: list[Image.Image], *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Latents of a clip, shaped as the model's `predict` takes them."""

    @abstractmethod
    def decode_video(self, latents: torch.Tensor, chunk_size: int, progress: Progress) -> torch.Tensor:
        """Frames as a float tensor (frames, height, width, 3) in [0, 1]."""

    @abstractmethod
    def predict(self, latents: torch.Tensor, timestep: torch.Tensor, condition: Condition) -> torch.Tensor:
        """The model output (epsilon or v, as the scheduler config says) for a batch of branches."""

    @abstractmethod
    def injection_sites(self, config: InjectionConfig) -> InjectionSites: ...

    @abstractmethod
    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, ...]: ...

    @abstractmethod
    def models(self) -> list[nn.Module]:
        """The torch modules, in the order a run uses them (for offloading)."""

    def enable_cpu_offload(self) -> None:
        """Keep weights on the CPU and move each model to the GPU only while it runs."""
        from accelerate import cpu_offload_with_hook

        if self.device.type != "cuda":
            raise AnyV2VError("--offload needs a CUDA device: drop --offload or run with --device cuda")
        hook = None
        for module in self.models():
            module.to("cpu")
            _, hook = cpu_offload_with_hook(module, self.device, prev_module_hook=hook)
        torch.cuda.empty_cache()  # give back the memory the weights held, to this process's other users too


def check_model_folder(path: Path, subfolders: tuple[str, ...]) -> None:
    """Fail early, naming every missing part, instead of deep inside a loader."""
    if not path.is_dir():
        raise AnyV2VError(f"model folder '{path}' not found: pass a hub id or a folder in diffusers layout")
    missing = [name for name in ("model_index.json", *subfolders) if not (path / name).exists()]
    if missing:
        raise AnyV2VError(
            f"model folder '{path}' is incomplete (missing {', '.join(missing)}): "
            "save the full pipeline with save_pretrained or download it again"
        )


def looks_like_path(model: str) -> bool:
    return Path(model).expanduser().exists() or model.startswith((".", "/", "~")) or model.count("/") > 1
