from __future__ import annotations

from diffusers import AutoencoderKL
from diffusers.models.unets import I2VGenXLUNet
from transformers import CLIPTextModel, CLIPVisionModelWithProjection

from anyv2v import AnyV2VPipeline
from anyv2v.toy.model import SHIPPED_MODEL


def test_shipped_model_is_small_and_safetensors_only():
    files = [path for path in SHIPPED_MODEL.rglob("*") if path.is_file()]
    assert {path.suffix for path in files} <= {".json", ".txt", ".safetensors"}
    assert sum(path.stat().st_size for path in files) <= 25 * 2**20
    assert (SHIPPED_MODEL / "model_index.json").is_file()


def test_shipped_model_loads_through_from_pretrained_with_the_real_classes():
    pipe = AnyV2VPipeline.from_pretrained(str(SHIPPED_MODEL), device="cpu", use_cache=False, progress=False)
    backbone = pipe.backbone
    assert isinstance(backbone.unet, I2VGenXLUNet) and isinstance(backbone.vae, AutoencoderKL)
    assert isinstance(backbone.text_encoder, CLIPTextModel)
    assert isinstance(backbone.image_encoder, CLIPVisionModelWithProjection)
    assert backbone.scheduler["prediction_type"] == "v_prediction"
    assert backbone.scheduler["rescale_betas_zero_snr"]


def test_each_backbones_toy_settings_are_its_toy_designs_size_and_length():
    from anyv2v.backbones import backbone_class
    from anyv2v.toy.model import TOY_DESIGNS

    for name, design in TOY_DESIGNS.items():
        kind = backbone_class(name)
        video = kind.toy_settings(kind.preset()).video
        assert (video.height, video.width, video.num_frames) == (design.frame_size, design.frame_size, design.frames)
