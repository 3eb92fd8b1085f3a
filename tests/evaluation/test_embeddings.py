"""CLIP and DINOv2 metrics on tiny random models saved as real checkpoints and loaded as users load theirs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPModel, Dinov2Config, Dinov2Model

from anyv2v.backbones.base import ImageNormalization
from anyv2v.errors import AnyV2VError
from anyv2v.evaluation.embeddings import ClipScorer, DinoScorer, Preprocessor, load_clip, load_dino
from anyv2v.toy.model import BYTE_TOKEN_IDS, byte_level_tokenizer

SIZE = 32
CPU = torch.device("cpu")
TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}


def save_tiny_clip(folder: Path) -> Path:
    torch.manual_seed(0)
    text = {**TINY, "vocab_size": 600, "max_position_embeddings": 16, **BYTE_TOKEN_IDS}
    config = CLIPConfig(
        text_config=text, vision_config={**TINY, "image_size": SIZE, "patch_size": 8}, projection_dim=16
    )
    CLIPModel(config).save_pretrained(folder, safe_serialization=True)
    byte_level_tokenizer(folder / "tokenizer-source").save_pretrained(folder)
    ImageNormalization.clip(SIZE).save_pretrained(folder)
    return folder


def save_tiny_dino(folder: Path) -> Path:
    torch.manual_seed(0)
    Dinov2Model(Dinov2Config(**TINY, image_size=SIZE, patch_size=8)).save_pretrained(folder, safe_serialization=True)
    ImageNormalization.clip(SIZE).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("embedding-models")
    save_tiny_clip(root / "clip")
    save_tiny_dino(root / "dino")
    return root


@pytest.fixture(scope="module")
def clip(models: Path) -> ClipScorer:
    return load_clip(str(models / "clip"), device=CPU)


@pytest.fixture(scope="module")
def dino(models: Path) -> DinoScorer:
    return load_dino(str(models / "dino"), device=CPU)


def noise(count: int, seed: int = 0, size: tuple[int, int] = (48, 40)) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(count)]


def test_embeddings_are_normalised_rows_one_per_frame(clip: ClipScorer, dino: DinoScorer):
    frames = noise(3)
    for embeddings in (clip.image_embeddings(frames), dino.embeddings(frames)):
        assert embeddings.shape[0] == 3
        torch.testing.assert_close(embeddings.norm(dim=-1), torch.ones(3))
    assert clip.image_embeddings(frames).shape[1] == clip.text_embedding("a cat").shape[0] == 16
    assert clip.model.training is False and dino.model.training is False


def test_a_still_video_is_perfectly_consistent(clip: ClipScorer, dino: DinoScorer):
    still = noise(1) * 4
    assert clip.clip_image(still) == pytest.approx([1.0] * 3, abs=1e-5)
    assert dino.subject_consistency(still) == pytest.approx([1.0] * 3, abs=1e-5)


def test_a_video_of_different_images_is_less_consistent(clip: ClipScorer, dino: DinoScorer):
    frames = noise(4, seed=1)
    assert len(clip.clip_image(frames)) == len(dino.subject_consistency(frames)) == 3
    assert np.mean(clip.clip_image(frames)) < 1 - 1e-4
    assert np.mean(dino.subject_consistency(frames)) < 1 - 1e-4


def test_long_videos_are_embedded_in_chunks_with_the_same_result(dino: DinoScorer):
    frames = noise(20, seed=2)  # more than one chunk
    together = dino.embeddings(frames)
    torch.testing.assert_close(together[17:], dino.embeddings(frames[17:]), atol=1e-5, rtol=1e-5)


def test_clip_text_gives_one_cosine_per_frame_that_depends_on_the_prompt(clip: ClipScorer):
    frames = noise(3, seed=3)
    cat, car = clip.clip_text(frames, "a photo of a cat"), clip.clip_text(frames, "a red car on a road")
    assert len(cat) == len(car) == 3
    assert all(-1 <= value <= 1 for value in cat + car)
    assert cat != pytest.approx(car, abs=1e-4)


def test_an_image_is_identical_to_itself_and_not_to_another(clip: ClipScorer, dino: DinoScorer):
    image, other = noise(2, seed=4)
    for scorer in (clip, dino):
        assert scorer.similarity(image, image) == pytest.approx(1.0, abs=1e-5)
        assert scorer.similarity(image, other) < 1 - 1e-4


def test_a_missing_folder_is_refused_in_one_line(tmp_path: Path):
    with pytest.raises(AnyV2VError, match="folder not found") as error:
        load_clip(str(tmp_path / "nowhere"), device=CPU)
    assert "\n" not in str(error.value) and "pass a hub id or a local folder" in str(error.value)


def test_a_folder_without_weights_is_refused_in_one_line(models: Path, tmp_path: Path):
    (tmp_path / "config.json").write_text((models / "dino" / "config.json").read_text())
    with pytest.raises(AnyV2VError, match="no safetensors weights") as error:
        load_dino(str(tmp_path), device=CPU)
    assert "\n" not in str(error.value)


def test_pickled_weights_are_never_loaded(models: Path, tmp_path: Path):
    (tmp_path / "config.json").write_text((models / "dino" / "config.json").read_text())
    ImageNormalization.clip(SIZE).save_pretrained(tmp_path)
    torch.save(Dinov2Model.from_pretrained(models / "dino").state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(AnyV2VError, match=r"only pickled weights \(pytorch_model.bin\)") as error:
        load_dino(str(tmp_path), device=CPU)
    assert "\n" not in str(error.value)


def test_another_architecture_is_refused(models: Path):
    with pytest.raises(AnyV2VError, match="config.json is for a 'dinov2' model, not 'clip'"):
        load_clip(str(models / "dino"), device=CPU)


def test_preprocessing_follows_the_hub_processor_crop(tmp_path: Path):
    """DINOv2's processor resizes the short side to 256 and crops 224: the central 7/8 of the short side."""
    ImageNormalization((224, 224), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).save_pretrained(tmp_path)
    settings = json.loads((tmp_path / "preprocessor_config.json").read_text())
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**settings, "size": {"shortest_edge": 256}}))
    preprocess = Preprocessor.from_pretrained(str(tmp_path))
    assert preprocess.crop_fraction == pytest.approx(224 / 256)
    assert preprocess(noise(2, size=(320, 256))).shape == (2, 3, 224, 224)
