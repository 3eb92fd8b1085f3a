"""Small configs and a pipeline loader shared by the tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from anyv2v import AnyV2VPipeline, EditConfig, InjectionConfig, InversionConfig, SamplingConfig, VideoConfig
from tests.conftest import NUM_FRAMES, SIZE

TINY_VIDEO = VideoConfig(num_frames=NUM_FRAMES, height=SIZE, width=SIZE)
NO_INJECTION = InjectionConfig(enabled=False)
KINDS = ("conv", "spatial_attention", "temporal_attention")


def only(kind: str, fraction: float) -> InjectionConfig:
    """One injection kind at `fraction`, the others off."""
    return InjectionConfig(fractions={**dict.fromkeys(KINDS, 0.0), kind: fraction})


def tiny_config(
    steps: int = 10, inversion_steps: int = 20, injection: InjectionConfig | None = None, **sampling
) -> EditConfig:
    return EditConfig(
        video=TINY_VIDEO,
        inversion=InversionConfig(steps=inversion_steps),
        injection=injection or InjectionConfig(),
        sampling=dataclasses.replace(SamplingConfig(steps=steps), **sampling),
    )


def load_tiny_pipeline(model: Path, cache_dir: Path | None = None) -> AnyV2VPipeline:
    return AnyV2VPipeline.from_pretrained(
        str(model), device="cpu", cache_dir=str(cache_dir) if cache_dir else None, use_cache=cache_dir is not None,
        progress=False,
    )  # fmt: skip


def shorten_reference_preset(monkeypatch) -> None:
    """The `reference` preset at a fifth of its steps (100 inversion, 10 sampling), for tests of what runs a preset
    rather than of the preset: its 500 inversion steps cost minutes on a CPU. Its own costs are checked in
    tests/backbones/test_i2vgen_xl.py."""
    from anyv2v.backbones import I2VGenXL

    reference = I2VGenXL.presets["reference"]
    shorter = dataclasses.replace(
        reference,
        inversion=dataclasses.replace(reference.inversion, steps=100),
        sampling=dataclasses.replace(reference.sampling, steps=10),
    )
    monkeypatch.setitem(I2VGenXL.presets, "reference", shorter)
