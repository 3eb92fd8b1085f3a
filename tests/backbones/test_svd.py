"""The SVD backbone against diffusers' own StableVideoDiffusionPipeline, and its SVD-only rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anyv2v.backbones.svd import AUGMENTATION_SEED, StableVideoDiffusion
from anyv2v.config import EditConfig, InjectionConfig, InversionConfig, SamplingConfig, VideoConfig
from anyv2v.errors import AnyV2VError
from anyv2v.pipeline import AnyV2VPipeline
from tests.backbones.tiny_svd import save_tiny_svd
from tests.conftest import moving_square_frames

VIDEO = VideoConfig(num_frames=5, fps=7.0, height=64, width=64)


@pytest.fixture(scope="module")
def tiny_svd(tmp_path_factory) -> str:
    return str(save_tiny_svd(tmp_path_factory.mktemp("svd") / "model"))


def pipeline(model: str) -> AnyV2VPipeline:
    backbone = StableVideoDiffusion.from_pretrained(model, dtype=torch.float32, device=torch.device("cpu"))
    return AnyV2VPipeline(backbone, progress=False)


def test_matches_diffusers_pipeline_when_inversion_and_injection_are_off(tiny_svd):
    """Noise start, no injection, the same noise: AnyV2V's loop is SVD's own sampling, per-frame guidance too."""
    from diffusers import StableVideoDiffusionPipeline

    frames = moving_square_frames(VIDEO.num_frames, VIDEO.height)
    config = EditConfig(
        video=VIDEO,
        inversion=InversionConfig(steps=4),
        injection=InjectionConfig(enabled=False),
        sampling=SamplingConfig(steps=4, guidance_scale=2.5, negative_prompt="", init="noise", start_step=0),
        backbone={"motion_bucket_id": 100, "noise_aug_strength": 0.05, "min_guidance_scale": 1.5},
    )
    ours = pipeline(tiny_svd).edit(
        frames, frames[0], "", config=config, generator=torch.Generator().manual_seed(0), output_type="np"
    )

    noise = torch.randn((1, 5, 4, 16, 16), generator=torch.Generator().manual_seed(0))  # our first draw
    reference = StableVideoDiffusionPipeline.from_pretrained(tiny_svd)
    reference.set_progress_bar_config(disable=True)
    theirs = reference(
        frames[0], height=64, width=64, num_frames=5, num_inference_steps=4, min_guidance_scale=1.5,
        max_guidance_scale=2.5, fps=7, motion_bucket_id=100, noise_aug_strength=0.05, decode_chunk_size=8,
        generator=torch.Generator().manual_seed(AUGMENTATION_SEED), latents=noise, output_type="np",
    ).frames[0]  # fmt: skip
    assert ours.shape == theirs.shape == (5, 64, 64, 3)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_a_first_frame_guidance_above_one_leaves_the_unguided_inversion_unguided(tiny_svd):
    """min_guidance_scale > 1 once made the inversion (guidance 1, one branch) look for a negative branch."""
    frames = moving_square_frames(VIDEO.num_frames, VIDEO.height)
    config = EditConfig(
        video=VIDEO,
        inversion=InversionConfig(steps=2),
        sampling=SamplingConfig(steps=2, guidance_scale=3.0, negative_prompt=""),
        backbone={"min_guidance_scale": 3.0},
    )
    output = pipeline(tiny_svd).edit(frames, frames[0], "", config=config, output_type="np")
    assert output.shape == (5, 64, 64, 3) and np.isfinite(output).all()


def test_a_prompt_is_refused_in_one_line_and_options_are_checked(tiny_svd):
    pipe = pipeline(tiny_svd)
    frames = moving_square_frames(VIDEO.num_frames, VIDEO.height)
    config = EditConfig(
        video=VIDEO, inversion=InversionConfig(steps=2), sampling=SamplingConfig(steps=2, negative_prompt="")
    )
    with pytest.raises(AnyV2VError, match="svd takes no text, so a prompt cannot steer it: drop --prompt"):
        pipe.edit(frames, frames[0], "a red car", config=config)
    with pytest.raises(AnyV2VError, match="svd has no option motion: its options are motion_bucket_id"):
        pipe.edit(frames, frames[0], "", config=EditConfig(video=VIDEO, backbone={"motion": 3}))
    with pytest.raises(AnyV2VError, match="height 100 is not a multiple of 64, which svd needs: use 128"):
        StableVideoDiffusion.check(EditConfig(video=VideoConfig(num_frames=5, height=100, width=64)))


def test_a_model_of_another_family_is_refused_before_its_weights_load(tiny_svd, tiny_model):
    from anyv2v.backbones import I2VGenXL, Wan

    with pytest.raises(AnyV2VError, match=(
        r"is a model for backbone i2vgen-xl \(unet I2VGenXLUNet\), not svd \(unet UNetSpatioTemporalConditionModel\): "
        r"load it with backbone 'i2vgen-xl' \(--backbone i2vgen-xl\)$")):  # fmt: skip
        StableVideoDiffusion.from_pretrained(str(tiny_model), dtype=torch.float32, device=torch.device("cpu"))
    with pytest.raises(
        AnyV2VError, match=r"for backbone svd .*, not i2vgen-xl \(unet I2VGenXLUNet\): load it with backbone 'svd'"
    ):
        I2VGenXL.from_pretrained(tiny_svd, dtype=torch.float32, device=torch.device("cpu"))
    with pytest.raises(AnyV2VError, match=r"for backbone svd .*, not wan \(transformer WanTransformer3DModel\)"):
        Wan.from_pretrained(tiny_svd, dtype=torch.float32, device=torch.device("cpu"))
