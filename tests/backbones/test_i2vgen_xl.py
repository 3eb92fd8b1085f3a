from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import transformers
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution
from packaging.version import Version
from transformers import CLIPTextModel

from anyv2v.errors import AnyV2VError
from anyv2v.pipeline import AnyV2VPipeline
from tests.conftest import NUM_FRAMES, SIZE, moving_square_frames
from tests.helpers import NO_INJECTION, load_tiny_pipeline, tiny_config


def test_matches_diffusers_pipeline_when_inversion_and_injection_are_off(
    tiny_model, source_frames, edited_frame, monkeypatch
):
    """With random-noise start and no injection, AnyV2V's loop is plain I2VGenXL sampling."""
    from diffusers import I2VGenXLPipeline

    # diffusers samples the VAE posterior with the global RNG; compare both on the posterior mean.
    monkeypatch.setattr(DiagonalGaussianDistribution, "sample", lambda self, generator=None: self.mean)
    pipe = load_tiny_pipeline(tiny_model)
    config = tiny_config(steps=3, injection=NO_INJECTION, init="noise", guidance_scale=6.0)
    prompt, negative = "a green square", "blurry"
    ours = pipe.edit(
        source_frames, edited_frame, prompt, negative_prompt=negative, config=config,
        generator=torch.Generator().manual_seed(0), output_type="np",
    )  # fmt: skip

    reference = I2VGenXLPipeline.from_pretrained(str(tiny_model))
    reference.set_progress_bar_config(disable=True)
    # Text is passed as embeddings: the deprecated pipeline's own clip_skip path breaks under transformers 5.
    theirs = reference(
        image=edited_frame,
        prompt_embeds=pipe.backbone.encode_text(prompt),
        negative_prompt_embeds=pipe.backbone.encode_text(negative),
        height=SIZE, width=SIZE, num_frames=NUM_FRAMES, target_fps=8, num_inference_steps=3,
        guidance_scale=6.0, generator=torch.Generator().manual_seed(0), output_type="np", decode_chunk_size=8,
    ).frames[0]  # fmt: skip

    assert ours.shape == theirs.shape == (NUM_FRAMES, SIZE, SIZE, 3)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert pipe.stats.unet_calls == 3 and pipe.stats.unet_batch_items == 6


def test_text_embedding_is_the_penultimate_layer_through_the_final_norm(tiny_model):
    pipe = load_tiny_pipeline(tiny_model)
    full = pipe.backbone.text_encoder
    # A one-layer copy's last hidden state is exactly "penultimate layer, then final layer norm".
    config = full.config.__class__(**{**full.config.to_dict(), "num_hidden_layers": 1})
    truncated = CLIPTextModel(config).eval()
    missing, _ = truncated.load_state_dict(full.state_dict(), strict=False)
    assert not missing
    ids = pipe.backbone.tokenizer(
        ["a red car"], padding="max_length", max_length=pipe.backbone.tokenizer.model_max_length, return_tensors="pt"
    ).input_ids
    with torch.no_grad():
        expected = truncated(ids).last_hidden_state
        last_layer = full(ids).last_hidden_state
    embedding = pipe.backbone.encode_text("a red car")
    torch.testing.assert_close(embedding, expected)
    assert not torch.allclose(embedding, last_layer)


def test_text_encoding_matches_diffusers_clip_skip_where_that_still_runs(tiny_model):
    """transformers 4: equal to diffusers' clip_skip=1 path; transformers 5: that path breaks, ours does not."""
    from diffusers import I2VGenXLPipeline

    ours = load_tiny_pipeline(tiny_model).backbone.encode_text("a red car")
    reference = I2VGenXLPipeline.from_pretrained(str(tiny_model))
    reference._guidance_scale = 1.0  # encode_prompt reads it; __call__ normally sets it
    if Version(transformers.__version__) >= Version("5"):
        with pytest.raises(AttributeError, match="text_model"):
            reference.encode_prompt("a red car", "cpu", 1, clip_skip=1)
    else:
        theirs, _ = reference.encode_prompt("a red car", "cpu", 1, clip_skip=1)
        torch.testing.assert_close(ours, theirs)


def test_injection_sites_are_the_papers(tiny_model):
    pipe = load_tiny_pipeline(tiny_model)
    sites = pipe.backbone.injection_sites(tiny_config().injection)
    unet = pipe.backbone.unet
    assert sites["conv"] == [unet.up_blocks[1].resnets[1].conv2]
    assert len(sites["spatial_attention"]) == len(sites["temporal_attention"]) == 16  # 8 layers x (query, key)
    assert unet.up_blocks[3].attentions[2].transformer_blocks[0].attn1.to_k in sites["spatial_attention"]
    assert unet.up_blocks[1].temp_attentions[1].transformer_blocks[0].attn1.to_q in sites["temporal_attention"]
    assert unet.up_blocks[1].attentions[0].transformer_blocks[0].attn1.to_q not in sites["spatial_attention"]
    values = {block.attn1.to_v for layer in unet.up_blocks[1].attentions for block in layer.transformer_blocks}
    assert not values & set(sites["spatial_attention"])


def test_a_missing_injection_site_is_a_clear_error(tiny_model):
    import dataclasses

    pipe = load_tiny_pipeline(tiny_model)
    config = dataclasses.replace(tiny_config().injection, sites={"conv": ("up_blocks.1.resnets.7.conv2",)})
    with pytest.raises(AnyV2VError, match=r"'up_blocks.1.resnets.7.conv2' \(conv\) matches no module of the unet"):
        pipe.backbone.injection_sites(config)


def test_cpu_half_precision_falls_back_to_float32_with_a_warning(tiny_model):
    with pytest.warns(UserWarning, match="float32"):
        pipe = AnyV2VPipeline.from_pretrained(str(tiny_model), device="cpu", torch_dtype="float16", use_cache=False)
    assert pipe.backbone.dtype == torch.float32


def test_offload_on_the_cpu_is_a_clear_error(tiny_model):
    pipe = load_tiny_pipeline(tiny_model)
    with pytest.raises(AnyV2VError, match="--offload needs a CUDA device"):
        pipe.backbone.enable_cpu_offload()


def test_the_fast_preset_costs_a_fifth_of_the_references_unet_batch_items_or_less(tiny_model, monkeypatch):
    """Counted on the presets themselves, each step's prediction stubbed: 500 real inversion steps cost minutes."""
    pipe = AnyV2VPipeline.from_pretrained(str(tiny_model), device="cpu", use_cache=False, progress=False)
    monkeypatch.setattr(pipe.backbone, "predict", lambda latents, timestep, condition: torch.zeros_like(latents))
    frames = moving_square_frames(2, 16)

    def batch_items(preset: str) -> int:
        config = pipe.backbone.preset(preset)
        config = dataclasses.replace(config, video=dataclasses.replace(config.video, num_frames=2, height=16, width=16))
        pipe.edit(frames, frames[0], "x", config=config, output_type="latent")
        return pipe.stats.unet_batch_items

    reference, fast = batch_items("reference"), batch_items("fast")
    assert fast > 0 and reference >= 5 * fast  # 603 and 111 when written
