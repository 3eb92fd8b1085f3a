"""The Wan backbone against diffusers' own WanImageToVideoPipeline, in both conditioning styles, and its Wan-only
rules: frame counts and sizes, the text path, the flow grid and inverter order, the clean first latent frame of
Wan 2.2, the block options of its injection kinds, and loading a model folder through the user's path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from anyv2v.backbones.wan import SCHEDULER_CONFIG, CLIPImageProcessing, Wan, blocks
from anyv2v.cli import main
from anyv2v.config import EditConfig, InjectionConfig, InversionConfig, SamplingConfig, VideoConfig
from anyv2v.errors import AnyV2VError
from anyv2v.noise import FlowMatchingProcess
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.video import write_video
from tests import test_inversion
from tests.backbones.tiny_wan import FRAME_SIZE, save_tiny_wan
from tests.conftest import moving_square_frames

PROMPT = "a red  square &amp; a  gradient"  # cleaned by both sides: entities decoded, spaces collapsed


def video(style: str) -> VideoConfig:
    return VideoConfig(num_frames=5, fps=16.0, height=FRAME_SIZE[style], width=FRAME_SIZE[style])


@pytest.fixture(scope="module", params=["2.1", "2.2"])
def euler_model(request, tmp_path_factory) -> tuple[str, Path]:
    """Each style with a FlowMatchEulerDiscreteScheduler, so that diffusers' pipeline walks the Euler path ours
    walks (Wan's own UniPC takes second-order steps)."""
    style = request.param
    return style, save_tiny_wan(tmp_path_factory.mktemp(f"wan-{style}") / "model", style, "euler")


@pytest.fixture(scope="module")
def wan22(tmp_path_factory) -> Path:
    return save_tiny_wan(tmp_path_factory.mktemp("wan-2.2-unipc") / "model")


@pytest.fixture
def diffusers_without_ftfy(monkeypatch):
    """diffusers' Wan pipeline cleans prompts with ftfy, which is not installed here: identity stands in (ftfy
    only repairs mojibake, which ASCII prompts do not have)."""
    from diffusers.pipelines.wan import pipeline_wan_i2v

    monkeypatch.setattr(pipeline_wan_i2v, "ftfy", SimpleNamespace(fix_text=lambda text: text), raising=False)
    return pipeline_wan_i2v


def load(folder: Path, config: EditConfig | None = None) -> AnyV2VPipeline:
    backbone = Wan.from_pretrained(str(folder), dtype=torch.float32, device=torch.device("cpu"))
    return AnyV2VPipeline(backbone, config, progress=False)


def noise_start(style: str) -> EditConfig:
    return EditConfig(
        video=video(style),
        inversion=InversionConfig(steps=4),
        injection=InjectionConfig(enabled=False),
        sampling=SamplingConfig(
            steps=4, guidance_scale=3.0, negative_prompt="blurry, static", init="noise", start_step=0
        ),  # fmt: skip
    )


def test_matches_diffusers_pipeline_when_inversion_and_injection_are_off(euler_model, diffusers_without_ftfy):
    """Noise start, no injection, the same noise: AnyV2V's loop is Wan's own sampling, with the text, the CLIP
    tokens and masked image latent (2.1) or the clean first latent frame and per-token timesteps (2.2)."""
    style, folder = euler_model
    config = noise_start(style)
    frames = moving_square_frames(5, FRAME_SIZE[style])
    ours = load(folder, config).edit(
        frames, frames[0], PROMPT, config=config, generator=torch.Generator().manual_seed(0), output_type="np"
    )

    reference = diffusers_without_ftfy.WanImageToVideoPipeline.from_pretrained(folder)
    reference.set_progress_bar_config(disable=True)
    size = FRAME_SIZE[style]
    theirs = reference(
        frames[0], prompt=PROMPT, negative_prompt="blurry, static", height=size, width=size, num_frames=5,
        num_inference_steps=4, guidance_scale=3.0, generator=torch.Generator().manual_seed(0), output_type="np",
    ).frames[0]  # fmt: skip
    assert ours.shape == theirs.shape == (5, size, size, 3)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_the_text_is_umt5_of_the_cleaned_prompt_padded_with_zeros(wan22, diffusers_without_ftfy):
    backbone = load(wan22).backbone
    text = backbone.encode_text(PROMPT)
    theirs = diffusers_without_ftfy.WanImageToVideoPipeline.from_pretrained(wan22)._get_t5_prompt_embeds(PROMPT)
    # 1e-5, not exact: two loads of the same weights may round a float32 product differently (1.1e-6 seen once, on
    # an AVX2 CPU in the full suite, not when run alone), while another token in the prompt moves them by units
    torch.testing.assert_close(text, theirs, rtol=0, atol=1e-5)
    length = len(backbone.tokenizer("a red square & a gradient").input_ids)  # the cleaned prompt and </s>
    assert text.shape[1] == 512 and text[0, length:].abs().max() == 0 and text[0, :length].abs().min() > 0


def test_the_clip_image_processing_equals_transformers_processor_on_a_wide_frame():
    try:
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    except ImportError:  # transformers 4: its CLIPImageProcessor is the PIL one
        from transformers import CLIPImageProcessor as CLIPImageProcessorPil

    frame = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 70, 3), dtype=np.uint8))
    processing = CLIPImageProcessing.clip(32)
    theirs = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    expected = theirs(images=frame, return_tensors="pt").pixel_values
    torch.testing.assert_close(processing(frame), expected, rtol=0, atol=1e-6)


def test_frame_counts_and_sizes_are_refused_in_one_line_naming_valid_ones(wan22):
    def refused(**video_fields) -> str:
        with pytest.raises(AnyV2VError) as error:
            Wan.check(EditConfig(video=VideoConfig(**{"num_frames": 5, "height": 64, "width": 64, **video_fields})))
        return str(error.value)

    assert refused(num_frames=100) == (
        "num_frames 100 is not 4k+1, which wan needs (its VAE keeps the first frame and packs the others in 4s): "
        "use 101 or 97 (--num-frames)"
    )
    assert "use 5 (--num-frames)" in refused(num_frames=3)
    assert refused(height=100) == "height 100 is not a multiple of 16, which wan needs: use 96 (--height)"
    # Wan 2.1 takes multiples of 16; a loaded Wan 2.2 model (VAE 16x, patch 2) needs multiples of 32
    Wan.check(Wan.presets["720p"])
    with pytest.raises(AnyV2VError, match=r"^height 720 is not a multiple of 32, which this Wan 2\.2 model "):
        load(wan22, Wan.presets["720p"])


def test_wan_22_keeps_the_first_latent_frame_clean_in_inversion_and_gives_the_edit_the_edited_one(wan22):
    """The first latent frame is given, not generated: the inverted source keeps the source's clean latent at
    every level, and the edit ends on the edited frame's latent exactly."""
    config = EditConfig(
        video=video("2.2"),
        inversion=InversionConfig(steps=8, solver="second-order"),
        sampling=SamplingConfig(steps=4, guidance_scale=2.0, negative_prompt="", start_step=0),
    )
    pipe = load(wan22, config)
    source, edited = moving_square_frames(5, 64), moving_square_frames(1, 64, (40, 220, 40))[0]
    clean = pipe.backbone.encode_video(source, sample=False, generator=None)
    for latents in pipe.invert(source).values():
        torch.testing.assert_close(latents[:, :, :1], clean[:, :, :1])
        assert (latents[:, :, 1:] - clean[:, :, 1:]).abs().max() > 0.1  # the other frames are noised
    result = pipe.edit(source, edited, "a green square", output_type="latent")
    given = pipe.backbone.encode_frame(edited, sample=False, generator=None).latent
    torch.testing.assert_close(result[:, :, :1], given, rtol=0, atol=0)


def test_guidance_has_no_contrast_where_the_prompt_is_the_negative_prompt(wan22):
    """Wan's negative branch differs by its prompt alone, so with the same text on both (the toy Wan's empty
    prompts) guidance changes nothing but the cost: why the toy's settings sample unguided."""
    source, edited = moving_square_frames(5, 64), moving_square_frames(1, 64, (40, 220, 40))[0]

    def edit(guidance: float, negative_prompt: str) -> torch.Tensor:
        sampling = SamplingConfig(steps=4, guidance_scale=guidance, negative_prompt=negative_prompt, start_step=0)
        config = EditConfig(video=video("2.2"), inversion=InversionConfig(steps=4), sampling=sampling)
        return load(wan22, config).edit(
            source, edited, "", generator=torch.Generator().manual_seed(0), output_type="latent"
        )

    unguided = edit(1.0, "")
    torch.testing.assert_close(edit(3.0, ""), unguided, rtol=0, atol=1e-5)
    assert (edit(3.0, "blurry, static") - unguided).abs().max() > 1e-3  # a different negative prompt does act


def test_the_flow_inverters_converge_at_their_order_on_wans_own_grid(monkeypatch):
    """On the exact path of Gaussian data, on Wan 2.2's UniPC flow-sigma grid (shift 5, integer timesteps):
    the first-order error halves per doubling of the steps, the second-order one falls over 3x."""
    monkeypatch.setitem(test_inversion.PROCESSES, "wan", FlowMatchingProcess(SCHEDULER_CONFIG))
    first = {steps: test_inversion.inversion_error("ddim", steps, "wan") for steps in (25, 50, 100)}
    second = {steps: test_inversion.inversion_error("second-order", steps, "wan") for steps in (25, 50, 100)}
    assert 1.5 < first[25] / first[50] < 2.5 and 1.5 < first[50] / first[100] < 2.5
    assert second[25] / second[50] > 3 and second[50] / second[100] > 3
    assert second[100] < first[100] / 5


def test_injection_blocks_are_options_and_patterns_still_win(wan22):
    assert blocks("50%-100%", 30, "attention_blocks") == list(range(15, 30))  # Wan 2.2 TI2V-5B: 30 blocks
    assert blocks("50%-100%", 40, "attention_blocks") == list(range(20, 40))  # Wan 2.1 14B: 40 blocks
    assert blocks("50%", 30, "hidden_blocks") == [15] and blocks("3,20-21", 30, "x") == [3, 20, 21]

    pipe = load(wan22, EditConfig(video=video("2.2")))
    names = {module: name for name, module in pipe.backbone.transformer.named_modules()}

    def sites(config: EditConfig) -> dict[str, list[str]]:
        pipe.backbone.prepare(config)
        chosen = pipe.backbone.injection_sites(config.injection)
        return {kind: [names[module] for module in modules] for kind, modules in chosen.items()}

    default = sites(EditConfig(video=video("2.2")))  # the tiny transformer has 4 blocks
    every_block = [f"blocks.{b}.attn1.to_{p}" for b in range(4) for p in "qk"]
    assert default == {"attention": every_block, "hidden": ["blocks.2"]}
    chosen = sites(EditConfig(video=video("2.2"), backbone={"attention_blocks": "0", "hidden_blocks": 3}))
    assert chosen == {"attention": ["blocks.0.attn1.to_q", "blocks.0.attn1.to_k"], "hidden": ["blocks.3"]}
    patterns = EditConfig(video=video("2.2"), injection=InjectionConfig(sites={"hidden": ("blocks.1",)}))
    assert sites(patterns)["hidden"] == ["blocks.1"]

    with pytest.raises(AnyV2VError, match="attention_blocks '50%-' is not a list of transformer blocks: use"):
        Wan.check(EditConfig(video=video("2.2"), backbone={"attention_blocks": "50%-"}))
    with pytest.raises(AnyV2VError, match=r"hidden_blocks 7 names block 7, but this transformer has 4 blocks \(0-3\)"):
        pipe.backbone.prepare(EditConfig(video=video("2.2"), backbone={"hidden_blocks": 7}))


def test_loads_both_styles_from_diffusers_layout_folders_and_refuses_two_expert_models(euler_model, wan22, tmp_path):
    style, folder = euler_model
    backbone = AnyV2VPipeline.from_pretrained(str(folder), backbone="wan", device="cpu", progress=False).backbone
    assert backbone.expand_timesteps == (style == "2.2")
    assert (backbone.image_encoder is None) == (style == "2.2")  # Wan 2.2 TI2V names no CLIP: none is loaded
    assert [type(m).__name__ for m in backbone.models()] == [
        "UMT5EncoderModel", *(["CLIPVisionModel"] if style == "2.1" else []), "WanTransformer3DModel",
        "AutoencoderKLWan",
    ]  # fmt: skip

    two_experts = shutil.copytree(wan22, tmp_path / "a14b")
    index = json.loads((two_experts / "model_index.json").read_text())
    index.update(boundary_ratio=0.9, transformer_2=["diffusers", "WanTransformer3DModel"])
    (two_experts / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(AnyV2VError, match=r"two-expert Wan models \(Wan 2\.2 A14B: transformer_2 with a boundary"):
        AnyV2VPipeline.from_pretrained(str(two_experts), backbone="wan", device="cpu", progress=False)


def test_edit_with_backbone_wan_on_the_command_line(wan22, tmp_path):
    source = write_video(moving_square_frames(count=8, size=64), tmp_path / "source.mp4", fps=8)
    edited = tmp_path / "edited.png"
    moving_square_frames(count=1, size=64, colour=(40, 220, 40))[0].save(edited)
    out = tmp_path / "out.mp4"
    args = ["edit", str(source), "--edited-frame", str(edited), "--prompt", "a green square", "-o", str(out),
            "--backbone", "wan", "--model", str(wan22), "--device", "cpu", "--no-cache", "--num-frames", "5",
            "--fps", "8", "--height", "64", "--width", "64", "--steps", "2", "--inversion-steps", "4", "--quiet",
            "--no-preview", "--backbone-option", "hidden_blocks=1"]  # fmt: skip
    assert main(args) == 0
    record = json.loads(out.with_suffix(".anyv2v.json").read_text())
    assert (record["backbone"], record["config"]["backbone"]) == ("wan", {"hidden_blocks": 1})
    assert record["config"]["video"]["num_frames"] == 5
