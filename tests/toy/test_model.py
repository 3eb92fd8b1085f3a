from __future__ import annotations

import pytest
from diffusers import (
    AutoencoderKL,
    AutoencoderKLTemporalDecoder,
    AutoencoderKLWan,
    UNetSpatioTemporalConditionModel,
    WanTransformer3DModel,
)
from diffusers.models.unets import I2VGenXLUNet
from transformers import CLIPTextModel, CLIPVisionModelWithProjection

from anyv2v import AnyV2VPipeline
from anyv2v.toy.shipped import shipped_backbones, shipped_model

# The most each backbone's shipped toy may weigh, in MiB (the issues that asked for them say so).
SIZE_LIMITS_MIB = {"i2vgen-xl": 25, "svd": 15, "wan": 15}


@pytest.mark.parametrize("backbone", shipped_backbones())
def test_shipped_models_are_small_and_safetensors_only(backbone):
    files = [path for path in shipped_model(backbone).rglob("*") if path.is_file()]
    assert {path.suffix for path in files} <= {".json", ".txt", ".safetensors"}
    assert sum(path.stat().st_size for path in files) <= SIZE_LIMITS_MIB[backbone] * 2**20
    assert (shipped_model(backbone) / "model_index.json").is_file()


def test_the_shipped_i2vgen_xl_loads_through_from_pretrained_with_the_real_classes():
    pipe = AnyV2VPipeline.from_pretrained("toy", device="cpu", use_cache=False, progress=False)
    backbone = pipe.backbone
    assert isinstance(backbone.unet, I2VGenXLUNet) and isinstance(backbone.vae, AutoencoderKL)
    assert isinstance(backbone.text_encoder, CLIPTextModel)
    assert isinstance(backbone.image_encoder, CLIPVisionModelWithProjection)
    assert backbone.scheduler["prediction_type"] == "v_prediction"
    assert backbone.scheduler["rescale_betas_zero_snr"]


def test_the_shipped_wan_loads_through_from_pretrained_with_wans_classes_conditioned_as_wan_2_2():
    pipe = AnyV2VPipeline.from_pretrained("toy", backbone="wan", device="cpu", use_cache=False, progress=False)
    backbone = pipe.backbone
    assert isinstance(backbone.transformer, WanTransformer3DModel) and isinstance(backbone.vae, AutoencoderKLWan)
    assert backbone.expand_timesteps and backbone.vae.config.is_residual
    assert backbone.transformer.config.in_channels == backbone.vae.config.z_dim == 48


def test_the_shipped_svd_loads_through_from_pretrained_with_svds_classes():
    pipe = AnyV2VPipeline.from_pretrained("toy", backbone="svd", device="cpu", use_cache=False, progress=False)
    backbone = pipe.backbone
    assert isinstance(backbone.unet, UNetSpatioTemporalConditionModel)
    assert isinstance(backbone.vae, AutoencoderKLTemporalDecoder)
    assert isinstance(backbone.image_encoder, CLIPVisionModelWithProjection)
    assert backbone.unet.config.in_channels == 2 * backbone.vae.config.latent_channels
    assert backbone.scheduler["use_karras_sigmas"] and backbone.scheduler["prediction_type"] == "v_prediction"


def test_each_backbones_toy_settings_are_its_toy_designs_size_and_length():
    from anyv2v.backbones import backbone_class
    from anyv2v.toy.model import TOY_DESIGNS

    for name, design in TOY_DESIGNS.items():
        kind = backbone_class(name)
        video = kind.toy_settings(kind.preset()).video
        assert (video.height, video.width, video.num_frames) == (design.frame_size, design.frame_size, design.frames)
