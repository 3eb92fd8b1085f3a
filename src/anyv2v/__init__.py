"""AnyV2V: tuning-free video editing with image-to-video diffusion models (arXiv 2403.14468)."""

from anyv2v.backbones import BACKBONES
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
from anyv2v.pipeline import AnyV2VPipeline

__version__ = "0.1.0"

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
