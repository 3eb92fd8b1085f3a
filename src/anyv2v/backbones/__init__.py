"""Image-to-video models, one module each; `BACKBONES` maps CLI names to them."""

from anyv2v.backbones.base import Backbone, Condition, FrameEncoding, InjectionKind
from anyv2v.backbones.i2vgen_xl import I2VGenXL
from anyv2v.backbones.svd import StableVideoDiffusion
from anyv2v.backbones.wan import Wan
from anyv2v.errors import AnyV2VError

BACKBONES: dict[str, type[Backbone]] = {
    I2VGenXL.name: I2VGenXL,
    StableVideoDiffusion.name: StableVideoDiffusion,
    Wan.name: Wan,
}


def backbone_class(name: str) -> type[Backbone]:
    try:
        return BACKBONES[name]
    except KeyError:
        raise AnyV2VError(f"unknown backbone {name!r}: use one of {', '.join(sorted(BACKBONES))}") from None


__all__ = [
    "BACKBONES",
    "Backbone",
    "Condition",
    "FrameEncoding",
    "I2VGenXL",
    "InjectionKind",
    "StableVideoDiffusion",
    "Wan",
    "backbone_class",
]
