from __future__ import annotations

import dataclasses
import json
import shutil
from functools import partial
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from anyv2v.toy.config import TrainConfig
from anyv2v.toy.model import toy_components
from anyv2v.toy.train import refine_decoder, toy_backbone, train_unet, train_vae
from tests.conftest import one_thread


def quiet(message: str) -> None:
    pass


def test_a_few_training_steps_lower_both_losses(tmp_path):
    torch.manual_seed(0)
    components = toy_components(tmp_path, seed=0)
    config = TrainConfig(vae_steps=20, vae_batch=8, unet_steps=24, unet_batch=1, decoder_steps=5, log_every=1000)
    vae_losses = train_vae(components["vae"], config, quiet)
    assert np.mean(vae_losses[-5:]) < 0.7 * np.mean(vae_losses[:5])

    backbone = toy_backbone(components, torch.device("cpu"))
    learned, unet_losses = train_unet(backbone, config, quiet)
    assert np.mean(unet_losses[-10:]) < 0.8 * np.mean(unet_losses[:5])
    assert list(learned) == ["unet"] and not any(p.requires_grad for p in learned["unet"].parameters())

    encoder = {k: v.clone() for k, v in components["vae"].encoder.state_dict().items()}
    decoder = {k: v.clone() for k, v in components["vae"].decoder.state_dict().items()}
    refine_decoder(components["vae"], config, quiet)
    assert all(torch.equal(v, components["vae"].encoder.state_dict()[k]) for k, v in encoder.items())
    assert any(not torch.equal(v, components["vae"].decoder.state_dict()[k]) for k, v in decoder.items())


TINY_RUN = TrainConfig(
    vae_steps=3, vae_batch=2, unet_steps=4, unet_batch=1, decoder_steps=2, log_every=1, checkpoint_every=2
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """One `TINY_RUN`, shared read-only by the tests that compare against it. On one thread, as the tests' own runs
    (module fixtures start before the per-test one that sets it): the thread count changes the float rounding."""
    from anyv2v.toy.train import train_toy

    with one_thread():
        return train_toy(tmp_path_factory.mktemp("tiny-run") / "model", TINY_RUN, quiet)


def own_copy(run: Path, folder: Path) -> Path:
    """The shared run and its checkpoints copied to `folder`, for a test that trains on in place."""
    from anyv2v.toy.train import checkpoint_folder

    shutil.copytree(checkpoint_folder(run), checkpoint_folder(folder))
    return shutil.copytree(run, folder)


def weights(folder) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return {
        f"{part}.{key}": value
        for part in ("unet", "vae")
        for key, value in load_file(str(folder / part / "diffusion_pytorch_model.safetensors")).items()
    }


def test_an_interrupted_run_resumes_from_its_checkpoint_and_ends_with_the_same_weights(tmp_path, tiny_run):
    from anyv2v.toy.train import checkpoint_folder, train_toy

    def stop_at_third_unet_step(message: str) -> None:
        if message.startswith("unet step 3/"):
            raise KeyboardInterrupt

    interrupted = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        train_toy(interrupted, TINY_RUN, stop_at_third_unet_step)
    assert not interrupted.exists() and (checkpoint_folder(interrupted) / "unet.pt").is_file()
    messages = []
    train_toy(interrupted, TINY_RUN, messages.append)
    assert "unet: resumed after step 2/4" in messages and "vae: resumed after step 3/3" in messages
    expected, resumed = weights(tiny_run), weights(interrupted)
    assert expected.keys() == resumed.keys()
    assert all(torch.equal(expected[key], resumed[key]) for key in expected)


def test_checkpoints_of_other_settings_are_refused(tmp_path, tiny_run):
    from anyv2v.errors import AnyV2VError
    from anyv2v.toy.train import train_toy

    model = own_copy(tiny_run, tmp_path / "model")
    with pytest.raises(AnyV2VError, match="other training settings"):
        train_toy(model, dataclasses.replace(TINY_RUN, unet_lr=1e-3), quiet)


def test_the_vae_size_is_a_setting_and_a_width_its_norm_groups_cannot_split_is_refused(tmp_path):
    from diffusers import AutoencoderKL

    from anyv2v.errors import AnyV2VError
    from anyv2v.toy.train import train_toy

    wider = train_toy(tmp_path / "wider", dataclasses.replace(TINY_RUN, vae_width=48, vae_layers=2), quiet)
    vae = AutoencoderKL.load_config(wider / "vae")
    assert (vae["block_out_channels"], vae["layers_per_block"], vae["latent_channels"]) == ([48, 96], 2, 4)
    with pytest.raises(AnyV2VError, match="--vae-width 40 is not a positive multiple of 16"):
        train_toy(tmp_path / "odd", dataclasses.replace(TINY_RUN, vae_width=40), quiet)
    assert not (tmp_path / "odd").exists()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [("checkpoint_every", 0, "--checkpoint-every 0 is below 1: give --checkpoint-every 1 or more"),
     ("log_every", -5, "--log-every -5 is below 1"), ("unet_batch", 0, "--unet-batch 0 is below 1"),
     ("vae_steps", -1, "--vae-steps -1 is below 0: give --vae-steps 0 or more"),
     ("vae_clips", -1, "--vae-clips -1 is below 0: give --vae-clips 0 or more")],
)  # fmt: skip
def test_counts_that_divide_or_size_a_step_are_refused_before_any_work(tmp_path, setting, value, message):
    from anyv2v.errors import AnyV2VError
    from anyv2v.toy.train import train_toy

    with pytest.raises(AnyV2VError, match=message):
        train_toy(tmp_path / "bad", dataclasses.replace(TINY_RUN, **{setting: value}), quiet)
    assert not any(tmp_path.iterdir())


def test_a_run_continues_from_a_saved_model_keeping_its_encoder_and_latent_scale(tmp_path, tiny_run):
    from diffusers import AutoencoderKL

    from anyv2v.toy.train import train_toy

    first = tiny_run
    more = dataclasses.replace(TINY_RUN, init=str(first), vae_steps=0, seed=1)
    second = train_toy(tmp_path / "second", more, quiet)
    before, after = weights(first), weights(second)
    encoder = [key for key in before if key.startswith("vae.encoder.")]
    assert encoder and all(torch.equal(before[key], after[key]) for key in encoder)
    assert any(not torch.equal(before[key], after[key]) for key in before if key.startswith("unet."))
    scale = [AutoencoderKL.load_config(folder / "vae")["scaling_factor"] for folder in (first, second)]
    assert scale[0] == scale[1] != 0.18215


def test_half_precision_weights_are_saved_half_the_size_and_continue_in_float32(tmp_path, tiny_run):
    from anyv2v.errors import AnyV2VError
    from anyv2v.pipeline import AnyV2VPipeline
    from anyv2v.toy.train import train_toy

    full = tiny_run
    half = train_toy(tmp_path / "half", dataclasses.replace(TINY_RUN, save_dtype="float16"), quiet)
    exact, halved = weights(full), weights(half)
    assert {value.dtype for value in exact.values()} == {torch.float32}
    assert {value.dtype for value in halved.values()} == {torch.float16}
    assert exact.keys() == halved.keys() and all(torch.equal(exact[key].half(), halved[key]) for key in exact)
    size = [(folder / "unet" / "diffusion_pytorch_model.safetensors").stat().st_size for folder in (full, half)]
    assert size[1] < 0.51 * size[0]
    pipe = AnyV2VPipeline.from_pretrained(str(half), device="cpu", use_cache=False, progress=False)
    assert {p.dtype for p in pipe.backbone.unet.parameters()} == {torch.float32}
    more = train_toy(tmp_path / "more", dataclasses.replace(TINY_RUN, init=str(half), vae_steps=0), quiet)
    assert {value.dtype for value in weights(more).values()} == {torch.float32}
    with pytest.raises(AnyV2VError, match="--save-dtype bfloat16 is not one the toy models are saved in: use float32"):
        train_toy(tmp_path / "bf16", dataclasses.replace(TINY_RUN, save_dtype="bfloat16"), quiet)
    assert not (tmp_path / "bf16").exists()


def test_bfloat16_compute_trains_in_mixed_precision_and_resumes_a_float32_run(tmp_path, tiny_run):
    from anyv2v.errors import AnyV2VError
    from anyv2v.toy.train import checkpoint_folder, train_toy

    def first_losses(folder) -> list[float]:
        return [torch.load(checkpoint_folder(folder) / f"{stage}.pt", weights_only=True)["losses"][0]
                for stage in ("vae", "unet")]  # fmt: skip

    full = own_copy(tiny_run, tmp_path / "full")
    # the first UNet loss comes before any UNet update: one UNet step and no decoder stage suffice
    shorter = dataclasses.replace(TINY_RUN, compute_dtype="bfloat16", unet_steps=1, decoder_steps=0)
    mixed = train_toy(tmp_path / "mixed", shorter, quiet)
    assert {value.dtype for value in weights(mixed).values()} == {torch.float32}
    for exact, rounded in zip(first_losses(full), first_losses(mixed), strict=True):  # same weights, same batch
        assert exact != rounded and rounded == pytest.approx(exact, rel=0.05)

    messages = []  # the float32 run's checkpoints resume in bfloat16: the dtype is no training setting
    train_toy(full, dataclasses.replace(TINY_RUN, compute_dtype="bfloat16"), messages.append)
    assert "unet: resumed after step 4/4" in messages
    with pytest.raises(AnyV2VError, match="--compute-dtype float16 is not one toy training computes in: use float32"):
        train_toy(tmp_path / "f16", dataclasses.replace(TINY_RUN, compute_dtype="float16"), quiet)
    assert not (tmp_path / "f16").exists()


def test_the_world_trained_on_is_a_setting_saved_with_the_model(tmp_path, tiny_run):
    from anyv2v.toy.data import Footage, step_batch
    from anyv2v.toy.train import train_toy
    from anyv2v.toy.world import FIRST_WORLD, World

    larger = World((0.15, 0.3))
    first = step_batch(0, "vae", 2, 1, footage=Footage(32), draw="frames")
    assert (first != step_batch(0, "vae", 2, 1, footage=Footage(32, world=larger), draw="frames")).any()
    model = train_toy(tmp_path / "model", dataclasses.replace(TINY_RUN, object_radius_min=0.15, object_radius_max=0.3))
    assert World.of_model(model) == larger
    assert World.of_model(tiny_run) == FIRST_WORLD


def test_a_wan_vae_step_draws_single_frames_and_as_many_whole_clips_as_asked():
    from anyv2v.toy.data import Footage, step_batch
    from anyv2v.toy.model import TOY_DESIGNS
    from anyv2v.toy.train import stage_draws

    design, footage = TOY_DESIGNS["wan"], Footage(16, 9)
    assert stage_draws("vae", 16, design) == ((16, 1), "frames and clips")  # the default: one per 9 frames
    assert stage_draws("vae", 16, design, clips=4) == ((16, 4), "frames and clips")
    assert stage_draws("unet", 4, design, clips=4) == (4, "clips")
    one, four = (step_batch(0, "vae", stage_draws("vae", 16, design, clips)[0], 1, footage=footage,
                            draw="frames and clips") for clips in (1, 4))  # fmt: skip
    assert one[0].shape == (16, 16, 16, 3) and [clip.shape for clip in four[1]] == [(9, 16, 16, 3)] * 4
    assert np.array_equal(one[0], four[0]) and np.array_equal(one[1][0], four[1][0])  # the same draws, then more
    assert not np.array_equal(four[1][0], four[1][1])


def test_continuing_from_a_folder_that_is_no_saved_model_is_refused(tmp_path):
    from anyv2v.errors import AnyV2VError
    from anyv2v.toy.train import train_toy

    with pytest.raises(AnyV2VError, match="not a saved toy model"):
        train_toy(tmp_path / "model", dataclasses.replace(TINY_RUN, init=str(tmp_path)), quiet)


def test_workers_render_the_same_data_so_the_weights_do_not_depend_on_them(tmp_path, tiny_run):
    from anyv2v.toy.data import Footage, RenderedAhead, step_batch
    from anyv2v.toy.train import train_toy

    steps = range(3, 9)
    render = partial(step_batch, 0, "unet", 2, footage=Footage(32), draw="clips")
    with RenderedAhead(render, steps, workers=2) as ahead:
        rendered = [ahead(step) for step in steps]
    for step, clips in zip(steps, rendered, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(clips, render(step), strict=True))
    assert not np.array_equal(rendered[0][0], rendered[1][0])

    helped = train_toy(tmp_path / "helped", dataclasses.replace(TINY_RUN, workers=2), quiet)
    before, after = weights(tiny_run), weights(helped)
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_frame_zero_is_weighted_on_whichever_axis_the_backbone_keeps_its_frames():
    from anyv2v.toy.train import frame_weighted_mse

    prediction, target = torch.zeros(2, 4, 3, 5, 5), torch.zeros(2, 4, 3, 5, 5)  # (B, C, F, H, W)
    prediction[:, :, 0] = 1.0  # only frame 0 is wrong
    assert frame_weighted_mse(prediction, target, 4.0).item() == pytest.approx(4 / 6)
    assert frame_weighted_mse(prediction.transpose(1, 2), target.transpose(1, 2), 4.0, frame_axis=1).item() == (
        pytest.approx(4 / 6)
    )


@pytest.mark.parametrize(
    ("backbone", "pipeline", "frames", "vae_width", "vae_lr"),
    [
        ("svd", "StableVideoDiffusionPipeline", 8, ("block_out_channels", [64, 64, 64]), 1e-3),
        ("wan", "WanImageToVideoPipeline", 9, ("base_dim", 32), 1e-4),
    ],
)
def test_other_backbones_toys_train_through_the_same_stages_and_run_in_the_demo(
    tmp_path, capsys, backbone, pipeline, frames, vae_width, vae_lr
):
    from anyv2v.cli import main
    from anyv2v.toy.train import train_toy

    one_step_each = dataclasses.replace(TINY_RUN, backbone=backbone, vae_steps=1, unet_steps=1, decoder_steps=1)
    model = train_toy(tmp_path / backbone, one_step_each, quiet)
    assert json.loads((model / "model_index.json").read_text())["_class_name"] == pipeline
    key, width = vae_width  # the backbone's own VAE width when --vae-width is not given
    assert json.loads((model / "vae" / "config.json").read_text())[key] == width
    # and its own VAE learning rate when --vae-lr is not given (the checkpoint's optimizer records it)
    vae_state = torch.load(tmp_path / f"{backbone}.checkpoints" / "vae.pt", weights_only=True)
    assert vae_state["optimizer"]["param_groups"][0]["initial_lr"] == pytest.approx(vae_lr)
    output = tmp_path / "demo.mp4"
    args = ["demo", "--backbone", backbone, "--model", str(model), "-o", str(output), "--steps", "3",
            "--inversion-steps", "3", "--quiet", "--no-cache"]  # fmt: skip
    assert main(args) == 0
    assert "edit carried:" in capsys.readouterr().out
    with av.open(str(output)) as container:
        decoded = list(container.decode(video=0))
    assert len(decoded) == frames and (decoded[0].width, decoded[0].height) == (64, 64)


def test_a_backbone_without_a_toy_design_or_a_vae_width_its_groups_cannot_split_is_refused(tmp_path):
    from anyv2v.errors import AnyV2VError
    from anyv2v.toy.train import train_toy

    with pytest.raises(AnyV2VError, match=r"no toy model is designed for backbone 'ltx': use --backbone i2vgen-xl or"):
        train_toy(tmp_path / "ltx", dataclasses.replace(TINY_RUN, backbone="ltx"), quiet)
    with pytest.raises(AnyV2VError, match=r"--vae-width 48 is not a positive multiple of 32 \(the svd toy VAE's"):
        train_toy(tmp_path / "svd", dataclasses.replace(TINY_RUN, backbone="svd", vae_width=48), quiet)


def test_the_image_encoder_learns_with_the_unet_when_asked_and_stays_as_seeded_otherwise(tmp_path, capsys, tiny_run):
    from safetensors.torch import load_file

    from anyv2v.cli import main
    from anyv2v.toy.train import train_toy

    def encoder(folder):
        return load_file(str(folder / "image_encoder" / "model.safetensors"))

    frozen = tiny_run
    learned = train_toy(tmp_path / "learned", dataclasses.replace(TINY_RUN, train_image_encoder=True), quiet)
    before, after = encoder(frozen), encoder(learned)
    assert any(not torch.equal(before[key], after[key]) for key in before)
    assert weights(frozen).keys() == weights(learned).keys()
    with pytest.raises(SystemExit):
        main(["train-toy", "--help"])
    assert "--no-train-image-encoder" in capsys.readouterr().out


CAPPED_BFLOAT16_GRADIENT_OF_A_POINTWISE_3D_CONV = """
import torch
from anyv2v.toy.train import avoid_amx_bfloat16_crash
torch.set_num_threads(1)  # where it crashed for certain
avoid_amx_bfloat16_crash(torch.device("cpu"), torch.bfloat16)
conv = torch.nn.Conv3d(64, 32, 1)
with torch.autocast("cpu", dtype=torch.bfloat16):
    out = conv(torch.randn(2, 64, 1, 64, 64))
out.float().sum().backward()
print(conv.weight.grad.abs().sum().item() > 0)
"""


def test_bfloat16_training_on_the_cpu_avoids_the_amx_convolution_crash():
    """The toy Wan's VAE crashed (AMX CPUs, torch 2.13) at this gradient; uncapped it may pass on other CPUs."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "ONEDNN_MAX_CPU_ISA"}
    run = subprocess.run(
        [sys.executable, "-c", CAPPED_BFLOAT16_GRADIENT_OF_A_POINTWISE_3D_CONV],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr[-2000:]

    from anyv2v.toy.train import avoid_amx_bfloat16_crash

    before = os.environ.get("ONEDNN_MAX_CPU_ISA")
    avoid_amx_bfloat16_crash(torch.device("cpu"), torch.float32)  # float32 runs keep the full ISA
    assert os.environ.get("ONEDNN_MAX_CPU_ISA") == before
