"""Model-based video metrics: CLIP-Text and CLIP-Image as the AnyV2V paper reports them, VBench's DINO subject
consistency, and the CLIP or DINO similarity of two images. Frames are PIL RGB images.

Each metric returns its per-frame (or per-pair) values; the reported score is their mean. Models load from a hub
id or a local transformers-layout folder through one code path, safetensors only, in float32: scores should not
depend on the device's preferred precision.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anyv2v.backbones.base import ImageNormalization, no_grad, transformers_dtype_kwarg
from anyv2v.errors import AnyV2VError
from anyv2v.runtime import hub_files_only_local, looks_like_path

if TYPE_CHECKING:
    import torch
    from PIL import Image
    from torch import nn

DEFAULT_CLIP = "openai/clip-vit-large-patch14"  # the AnyV2V paper's CLIP
DEFAULT_DINO = "facebook/dinov2-base"
CHUNK = 16  # frames per forward pass: bounds memory on long videos
PREPROCESSOR = "preprocessor_config.json"


class Preprocessor:
    """The hub image processor's geometry and statistics without its classes (see ImageNormalization): a central
    square of crop_size / size.shortest_edge of the short side (DINOv2: 224 of 256), resized to crop_size and
    normalized. With shortest_edge equal to crop_size (CLIP), the whole central square."""

    def __init__(self, normalization: ImageNormalization, crop_fraction: float = 1.0):
        self.normalization, self.crop_fraction = normalization, crop_fraction

    @classmethod
    def from_pretrained(cls, model: str, *, local_files_only: bool = False) -> Preprocessor:
        from huggingface_hub import hf_hub_download

        path = Path(model, PREPROCESSOR)
        if not path.is_file():
            path = Path(hf_hub_download(model, PREPROCESSOR, local_files_only=local_files_only))
        normalization = ImageNormalization.from_pretrained(str(path.parent), subfolder="")
        size = json.loads(path.read_text()).get("size")
        shortest = size.get("shortest_edge") if isinstance(size, dict) else size
        crop = min(normalization.size)
        return cls(normalization, min(1.0, crop / shortest) if shortest else 1.0)

    def __call__(self, frames: Sequence[Image.Image]) -> torch.Tensor:
        """(N, 3, H, W) float32."""
        import torch

        return torch.cat([self.normalization(self._center(frame.convert("RGB"))) for frame in frames])

    def _center(self, frame: Image.Image) -> Image.Image:
        if self.crop_fraction >= 1.0:
            return frame
        side = round(min(frame.size) * self.crop_fraction)
        left, top = (frame.width - side) // 2, (frame.height - side) // 2
        return frame.crop((left, top, left + side, top + side))


class ClipScorer:
    """CLIP image and text embeddings, L2-normalised so that a dot product is a cosine."""

    def __init__(self, model: nn.Module, tokenizer, preprocess: Preprocessor, device: torch.device):
        self.model, self.tokenizer, self.preprocess, self.device = model, tokenizer, preprocess, device

    @no_grad
    def image_embeddings(self, frames: Sequence[Image.Image]) -> torch.Tensor:
        """(N, D) on the CPU."""
        return _embed(frames, self.preprocess, self.device, self._image_features)

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return _features(self.model.get_image_features(pixel_values=pixels))

    @no_grad
    def text_embedding(self, prompt: str) -> torch.Tensor:
        """(D,) on the CPU; prompts longer than CLIP's context are truncated, as CLIP was trained."""
        import torch.nn.functional as F

        length = self.model.config.text_config.max_position_embeddings
        tokens = self.tokenizer([prompt], padding=True, truncation=True, max_length=length, return_tensors="pt")
        tokens = {name: tokens[name].to(self.device) for name in ("input_ids", "attention_mask")}
        features = _features(self.model.get_text_features(**tokens))
        return F.normalize(features.float(), dim=-1)[0].cpu()

    def clip_text(self, frames: Sequence[Image.Image], prompt: str) -> list[float]:
        """Each frame's cosine with the prompt; CLIP-Text (AnyV2V paper) is their mean: does the video show it."""
        return (self.image_embeddings(frames) @ self.text_embedding(prompt)).tolist()

    def clip_image(self, frames: Sequence[Image.Image]) -> list[float]:
        """Cosine of each consecutive pair of frames; CLIP-Image (frame consistency) is their mean."""
        embeddings = self.image_embeddings(frames)
        return (embeddings[1:] * embeddings[:-1]).sum(dim=-1).tolist()

    def similarity(self, a: Image.Image, b: Image.Image) -> float:
        """Cosine of two images' embeddings, e.g. an edited first frame and the video's."""
        first, second = self.image_embeddings([a, b])
        return float(first @ second)


class DinoScorer:
    """DINOv2 CLS embeddings: they track object identity rather than semantics, what subject consistency needs."""

    def __init__(self, model: nn.Module, preprocess: Preprocessor, device: torch.device):
        self.model, self.preprocess, self.device = model, preprocess, device

    @no_grad
    def embeddings(self, frames: Sequence[Image.Image]) -> torch.Tensor:
        """(N, D) on the CPU: the CLS token of the last (layer-normed) hidden state."""
        return _embed(frames, self.preprocess, self.device, self._cls_token)

    def _cls_token(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixels).last_hidden_state[:, 0]

    def subject_consistency(self, frames: Sequence[Image.Image]) -> list[float]:
        """VBench's per-frame value for frames 1..N-1: the mean of the frame's cosine with the first frame and with
        the previous one, each clipped at 0 as VBench does; the score is their mean."""
        embeddings = self.embeddings(frames)
        to_first = (embeddings[1:] @ embeddings[0]).clamp(min=0)
        to_previous = (embeddings[1:] * embeddings[:-1]).sum(dim=-1).clamp(min=0)
        return ((to_first + to_previous) / 2).tolist()

    def similarity(self, a: Image.Image, b: Image.Image) -> float:
        first, second = self.embeddings([a, b])
        return float(first @ second)


def load_clip(model: str = DEFAULT_CLIP, *, device: torch.device) -> ClipScorer:
    """CLIPModel, its tokenizer and preprocessing from a hub id or a local folder."""
    from transformers import AutoTokenizer, CLIPModel

    def parts(source: str, local_only: bool) -> tuple:
        network = _load_weights(CLIPModel, "clip", source, local_only)
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        return network, tokenizer, Preprocessor.from_pretrained(source, local_files_only=local_only)

    files = "config.json, model.safetensors, preprocessor_config.json and the tokenizer files"
    network, tokenizer, preprocess = _load("CLIP", model, files, parts)
    return ClipScorer(network.to(device), tokenizer, preprocess, device)


def load_dino(model: str = DEFAULT_DINO, *, device: torch.device) -> DinoScorer:
    """Dinov2Model and its preprocessing from a hub id or a local folder."""
    from transformers import Dinov2Model

    def parts(source: str, local_only: bool) -> tuple:
        network = _load_weights(Dinov2Model, "dinov2", source, local_only)
        return network, Preprocessor.from_pretrained(source, local_files_only=local_only)

    network, preprocess = _load("DINOv2", model, "config.json, model.safetensors and preprocessor_config.json", parts)
    return DinoScorer(network.to(device), preprocess, device)


def _load(name: str, model: str, files: str, parts: Callable[[str, bool], tuple]) -> tuple:
    """One code path for hub ids and folders; every failure becomes one line naming the problem and the fix."""
    local_only = False
    try:
        if looks_like_path(model):
            source = str(Path(model).expanduser())
            _check_folder(Path(source))
        else:
            source = model
            local_only = hub_files_only_local(model, marker="config.json")
        return parts(source, local_only)
    except (OSError, ValueError, KeyError, _Refused) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AnyV2VError(
            f"could not load the {name} model from '{model}' ({reason}): pass a hub id or a local folder with {files}"
        ) from None


class _Refused(Exception):
    """A model folder or checkpoint this module will not load."""


def _check_folder(path: Path) -> None:
    """Fail before transformers does, with a reason a user can act on."""
    if not path.is_dir():
        raise _Refused("folder not found")
    if not (path / "config.json").is_file():
        raise _Refused("no config.json")
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.safetensors.index.json")):
        pickled = sorted(p.name for p in path.glob("*.bin"))
        raise _Refused(
            f"only pickled weights ({', '.join(pickled)}), which are never loaded: save them as safetensors"
            if pickled
            else "no safetensors weights"
        )
    if not (path / PREPROCESSOR).is_file():
        raise _Refused(f"no {PREPROCESSOR}")


def _load_weights(kind: type, model_type: str, source: str, local_only: bool) -> nn.Module:
    """Safetensors only, float32, in eval mode; refuses another architecture's checkpoint and a checkpoint that
    leaves weights random, which would score silently wrong."""
    import torch
    from transformers import AutoConfig

    found = AutoConfig.from_pretrained(source, local_files_only=local_only).model_type
    if found != model_type:
        raise _Refused(f"config.json is for a {found!r} model, not {model_type!r}")
    network, info = kind.from_pretrained(
        source,
        local_files_only=local_only,
        use_safetensors=True,
        output_loading_info=True,
        **{transformers_dtype_kwarg(): torch.float32},
    )
    if info["missing_keys"]:
        missing = sorted(info["missing_keys"])
        raise _Refused(f"the weights lack {len(missing)} parameters, e.g. {missing[0]}")
    return network.eval().requires_grad_(False)


def _embed(
    frames: Sequence[Image.Image],
    preprocess: Preprocessor,
    device: torch.device,
    forward: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Normalised embeddings of the frames, CHUNK at a time."""
    import torch
    import torch.nn.functional as F

    if not frames:
        raise AnyV2VError("no frames to embed: pass at least one frame")
    chunks = [
        F.normalize(forward(preprocess(frames[start : start + CHUNK]).to(device)).float(), dim=-1).cpu()
        for start in range(0, len(frames), CHUNK)
    ]
    return torch.cat(chunks)


def _features(output) -> torch.Tensor:
    """transformers 5's get_*_features return a model output with the projection as pooler_output; 4's, a tensor."""
    return output if _is_tensor(output) else output.pooler_output


def _is_tensor(value: object) -> bool:
    import torch

    return isinstance(value, torch.Tensor)
