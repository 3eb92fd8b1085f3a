from __future__ import annotations

import dataclasses

import pytest
from diffusers import DDIMScheduler

from anyv2v.backbones import I2VGenXL
from anyv2v.backbones.i2vgen_xl import for_toy_model
from anyv2v.cli.options import backbone_preset
from anyv2v.config import OFFICIAL_NEGATIVE_PROMPT, build_configs, read_config_file
from anyv2v.errors import AnyV2VError
from anyv2v.toy.model import I2VGENXL_SCHEDULER

PRESETS = I2VGenXL.presets


def build(preset, file_data, overrides, adapt=None):
    return build_configs(backbone_preset, preset, file_data, overrides, adapt)


def test_reference_preset_holds_the_papers_numbers():
    reference = PRESETS["reference"]
    assert (reference.video.num_frames, reference.video.fps) == (16, 8.0)
    assert (reference.video.height, reference.video.width) == (512, 512)
    assert reference.inversion.steps == 500 and reference.inversion.prompt == ""
    assert reference.inversion.guidance_scale == 1.0
    assert (reference.sampling.steps, reference.sampling.guidance_scale, reference.sampling.start_step) == (50, 9.0, 1)
    assert reference.sampling.negative_prompt == OFFICIAL_NEGATIVE_PROMPT
    fractions = I2VGenXL.injection_fractions(reference.injection)
    assert fractions == {"conv": 0.2, "spatial_attention": 0.2, "temporal_attention": 0.5}
    assert reference.injection.count_skipped_steps


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "settings.yaml",
            "preset: reference\nsampling:\n  steps: 25\ninjection:\n  conv: 0.3\n  conv_sites: [up_blocks.1.*.conv2]\n",
        ),
        (
            "settings.toml",
            'preset = "reference"\n[sampling]\nsteps = 25\n'
            '[injection]\nconv = 0.3\nconv_sites = ["up_blocks.1.*.conv2"]\n',
        ),
    ],
)
def test_config_files_in_yaml_and_toml_set_fields_and_flags_win(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    edit, runtime = build(None, read_config_file(path), {"sampling": {"guidance_scale": 5.0}})
    assert edit.sampling.steps == 25 and edit.sampling.guidance_scale == 5.0
    assert edit.injection.fractions == {"conv": 0.3} and edit.injection.sites == {"conv": ("up_blocks.1.*.conv2",)}
    assert edit.inversion.steps == 500 and runtime.model is None  # None: the backbone's default model
    flagged, _ = build(None, read_config_file(path), {"sampling": {"steps": 10}})
    assert flagged.sampling.steps == 10


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sampling": {"step": 3}}, "unknown option 'sampling.step'"),
        ({"sampler": {}}, "unknown config section 'sampler'"),
        ({"video": {"width": 0}}, "width is 0: use a positive size"),
        ({"injection": {"conv": 1.5}}, r"injection.conv is 1.5: use a fraction"),
        ({"injection": {"conv_sites": [[1, 2]]}}, r"injection.conv_sites is .*: use a list of module names"),
        ({"preset": "fastest"}, "backbone i2vgen-xl has no preset 'fastest'"),
        ({"runtime": {"backbone": "sora"}}, "unknown backbone 'sora'"),
        ({"sampling": {"first_frame": "kept"}}, "sampling.first_frame is 'kept': use 'generated' or 'given'"),
    ],
)
def test_bad_config_values_are_one_line_errors(data, message):
    with pytest.raises(AnyV2VError, match=message):
        build(None, data, {})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"video": {"width": 100}}, "width 100 is not a multiple of 8, which i2vgen-xl needs: use 96"),
        ({"injection": {"motion": 0.5}}, "backbone i2vgen-xl has no injection kind motion: its kinds are conv"),
    ],
)
def test_settings_the_backbone_cannot_run_are_one_line_errors(data, message):
    edit, _ = build(None, data, {})
    with pytest.raises(AnyV2VError, match=message):
        I2VGenXL.check(edit)


def test_unparsable_config_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[sampling\nsteps = ")
    with pytest.raises(AnyV2VError, match="could not be parsed"):
        read_config_file(path)


def test_fast_is_the_default_and_differs_from_reference_only_in_steps_solver_and_start():
    edit, _ = build(None, {}, {})
    assert edit == PRESETS["fast"]
    fast, reference = PRESETS["fast"], PRESETS["reference"]
    assert (fast.inversion.steps, fast.inversion.solver, fast.sampling.steps) == (50, "second-order", 25)
    assert reference.inversion.solver == "ddim"  # the official code's
    same_steps = dataclasses.replace(
        fast,
        inversion=dataclasses.replace(fast.inversion, steps=reference.inversion.steps, solver="ddim"),
        sampling=dataclasses.replace(fast.sampling, steps=reference.sampling.steps, start_step=1),
    )
    assert same_steps == reference


def test_fast_starts_sampling_at_the_references_first_timestep():
    def first_timestep(config):
        scheduler = DDIMScheduler.from_config(I2VGENXL_SCHEDULER)
        scheduler.set_timesteps(config.sampling.steps)
        return int(scheduler.timesteps[config.sampling.start_step])

    assert first_timestep(PRESETS["fast"]) == first_timestep(PRESETS["reference"]) == 961


def test_an_unknown_inversion_solver_is_a_clear_error():
    with pytest.raises(AnyV2VError, match="use 'ddim', 'second-order' or 'fixed-point'"):
        build(None, {}, {"inversion": {"solver": "euler"}})
    with pytest.raises(AnyV2VError, match="use 0 or more"):
        build(None, {}, {"inversion": {"solver": "fixed-point", "iterations": -1}})


def test_toy_model_settings_keep_the_recipe_and_change_size_and_guidance():
    toy = for_toy_model(PRESETS["reference"])
    assert (toy.video.num_frames, toy.video.height, toy.sampling.guidance_scale) == (8, 32, 3.0)
    assert toy.sampling.negative_prompt == ""
    assert (toy.inversion, toy.injection, toy.sampling.steps) == (
        PRESETS["reference"].inversion, PRESETS["reference"].injection, 50,
    )  # fmt: skip
    assert PRESETS["toy"] == for_toy_model(PRESETS["fast"])
    edit, _ = build("reference", {}, {"video": {"num_frames": 4}}, for_toy_model)
    assert edit.video.num_frames == 4 and edit.inversion.steps == 500  # flags still override the adaptation
