"""The `reference` preset against arrays from the official AnyV2V code (tests/data/official/README.md).

The official scripts ran on the tiny random I2VGen-XL stored beside the arrays; the same weights run here
through `AnyV2VPipeline`, so any drift of inversion, sampling, injection or conditioning from the paper's
code shows as a difference in the final latents, the frames or the injected timesteps.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anyv2v import AnyV2VPipeline
from anyv2v.backbones import I2VGenXL
from anyv2v.config import VideoConfig

OFFICIAL = Path(__file__).parent / "data" / "official"
RUNS = ("inv20_steps10", "inv50_steps25")
EDITS = ("edit_pnp", "edit_noinject")


@pytest.fixture(scope="module")
def official_pipeline() -> AnyV2VPipeline:
    return AnyV2VPipeline.from_pretrained(
        str(OFFICIAL / "tiny-i2vgen-xl"), device="cpu", use_cache=False, progress=False
    )


def official_config(run: dict, edit: str):
    settings = run["edits"][edit]
    reference = I2VGenXL.presets["reference"]
    return dataclasses.replace(
        reference,
        video=VideoConfig(
            num_frames=settings["num_frames"], fps=settings["fps"], height=settings["height"], width=settings["width"]
        ),
        inversion=dataclasses.replace(reference.inversion, steps=run["inversion"]["steps"]),
        injection=dataclasses.replace(reference.injection, fractions=settings["fractions"]),
        sampling=dataclasses.replace(
            reference.sampling,
            steps=settings["sampling_steps"],
            start_step=settings["start_step"],
            guidance_scale=settings["guidance_scale"],
            negative_prompt=settings["negative_prompt"],
        ),
    )


@pytest.mark.parametrize("name", RUNS)
@pytest.mark.parametrize("edit", EDITS)
def test_reference_preset_equals_the_official_code(official_pipeline: AnyV2VPipeline, name: str, edit: str):
    run = json.loads((OFFICIAL / f"{name}.json").read_text())
    arrays = np.load(OFFICIAL / f"{name}.npz")
    source = [Image.fromarray(frame) for frame in arrays["source_frames_uint8"]]
    edited = Image.fromarray(arrays["edited_first_frame_uint8"])
    config = official_config(run, edit)

    latents = official_pipeline.edit(source, edited, run["edits"][edit]["prompt"], config=config, output_type="latent")
    injected = official_pipeline.stats.injections
    frames = official_pipeline.backbone.decode_video(latents, 8, lambda chunks, _: chunks).numpy()

    np.testing.assert_allclose(latents.numpy(), arrays[f"{edit}/final_latents"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(frames, arrays[f"{edit}/frames_float"], rtol=0, atol=1e-3)
    grid = official_pipeline.backbone.process.grid(config.sampling.steps)
    assert [int(level.timestep) for level in grid[config.sampling.start_step : -1]] == run["edits"][edit][
        "sampled_timesteps"
    ]
    for kind, expected in run["edits"][edit]["injected_timesteps"].items():
        fired = sorted({step for fired_kind, step in injected if fired_kind == kind})
        assert [int(grid[step].timestep) for step in fired] == expected, kind


def test_inverted_latents_equal_the_official_code(official_pipeline: AnyV2VPipeline):
    run = json.loads((OFFICIAL / "inv20_steps10.json").read_text())
    arrays = np.load(OFFICIAL / "inv20_steps10.npz")
    source = [Image.fromarray(frame) for frame in arrays["source_frames_uint8"]]
    config = official_config(run, "edit_pnp")
    inverted = official_pipeline.invert(source, config=config)
    grid = official_pipeline.backbone.process.grid(config.sampling.steps)
    by_timestep = {int(grid[step].timestep): latents for step, latents in inverted.items()}
    assert sorted(by_timestep) == run["inverted_latents_timesteps"]
    for timestep, expected in zip(run["inverted_latents_timesteps"], arrays["inverted_latents"], strict=True):
        np.testing.assert_allclose(by_timestep[timestep].numpy(), expected, rtol=0, atol=1e-4)
