"""AnyV2V: tuning-free video editing with image-to-video diffusion models (arXiv 2403.14468).

The pipeline and the backbones are imported on first use, so that the command line parses its arguments (and
answers --help) before torch, diffusers and transformers load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from anyv2v.config import (
    EditConfig,
    InjectionConfig,
    InversionConfig,
    RuntimeConfig,
    SamplingConfig,
    VAEConfig,
    VideoConfig,
)
from anyv2v.errors import AnyV2VError

if TYPE_CHECKING:
    from anyv2v.backbones import BACKBONES
    from anyv2v.pipeline import AnyV2VPipeline

__version__ = "0.1.0"

_LAZY = {"AnyV2VPipeline": "anyv2v.pipeline", "BACKBONES": "anyv2v.backbones"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'anyv2v' has no attribute {name!r}")


__all__ = [
    "BACKBONES",
    "AnyV2VError",
    "AnyV2VPipeline",
    "EditConfig",
    "InjectionConfig",
    "InversionConfig",
    "RuntimeConfig",
    "SamplingConfig",
    "VAEConfig",
    "VideoConfig",
]
