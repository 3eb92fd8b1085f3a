from __future__ import annotations

import shutil
from types import SimpleNamespace

import huggingface_hub
import pytest

from anyv2v.editors import create_editor
from anyv2v.editors.diffusers_base import first_image, working_size
from anyv2v.errors import AnyV2VError


@pytest.mark.parametrize(
    ("size", "resolution", "multiple", "expected"),
    [
        ((40, 32), None, 8, (40, 32)),
        ((41, 33), None, 8, (40, 32)),
        ((512, 512), 1024, 8, (1024, 1024)),
        ((1920, 1080), 1024, 16, (1360, 768)),  # about a megapixel, the aspect kept
        ((4, 4), None, 8, (8, 8)),
    ],
)
def test_working_size_keeps_the_aspect_at_the_models_multiple(size, resolution, multiple, expected):
    assert working_size(size, resolution, multiple) == expected


def test_missing_and_incomplete_model_folders_are_named(tmp_path, tiny_instruct_pix2pix):
    with pytest.raises(AnyV2VError, match="model folder .*no-model' not found"):
        create_editor("instruct-pix2pix", model=str(tmp_path / "no-model"), device="cpu")
    partial = shutil.copytree(tiny_instruct_pix2pix, tmp_path / "partial")
    shutil.rmtree(partial / "unet")
    with pytest.raises(AnyV2VError, match=r"is incomplete \(missing unet\)"):
        create_editor("instruct-pix2pix", model=str(partial), device="cpu")


def test_weights_neither_reachable_nor_cached_are_named_with_their_download(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(AnyV2VError, match=r"'someone/no-such-editor' is not in the local cache: download it once .*"
                                          r"\('hf download someone/no-such-editor'\)"):  # fmt: skip
        create_editor("instruct-pix2pix", model="someone/no-such-editor", device="cpu")


def test_a_folder_with_only_pickled_weights_is_refused(tmp_path, tiny_instruct_pix2pix):
    pickled = shutil.copytree(tiny_instruct_pix2pix, tmp_path / "pickled")
    weights = pickled / "unet" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_suffix(".bin"))
    with pytest.raises(AnyV2VError, match="could not load StableDiffusionInstructPix2PixPipeline from .*safetensors"):
        create_editor("instruct-pix2pix", model=str(pickled), device="cpu")


def test_a_released_editor_refuses_to_edit(tiny_instruct_pix2pix, frame):
    editor = create_editor("instruct-pix2pix", model=str(tiny_instruct_pix2pix), device="cpu", progress=False)
    editor.release()
    assert editor.pipe is None
    with pytest.raises(AnyV2VError, match="was released: create a new one"):
        editor.edit(frame, "make it green")


def test_a_frame_blacked_out_by_the_safety_checker_is_refused():
    flagged = SimpleNamespace(images=["black"], nsfw_content_detected=[True])
    with pytest.raises(AnyV2VError, match="safety checker of 'x' flagged the edited frame"):
        first_image(flagged, "x")
    assert first_image(SimpleNamespace(images=["ok"], nsfw_content_detected=None), "x") == "ok"
    assert first_image(SimpleNamespace(images=["ok"]), "x") == "ok"
