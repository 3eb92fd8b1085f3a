"""The inversion cache: one safetensors file per inversion, holding latents by position on the inversion grid."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Collection
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from anyv2v.runtime import atomic_output


class InversionCache:
    """Entries are keyed by everything the inversion depends on (video content, model, size, frames, fps,
    inversion settings); an entry that cannot be read or lacks a needed latent is a miss, never an error."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @staticmethod
    def key(**fields: object) -> str:
        text = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"{key}.safetensors"

    def load(
        self, key: str, positions: Collection[int], shape: tuple[int, ...], device: torch.device
    ) -> dict[int, torch.Tensor] | None:
        """The cached latents at every needed grid position, each of `shape`, or None (a miss)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt", device="cpu") as file:
                names = set(file.keys())
                if not all(f"p{i}" in names for i in positions):
                    return None
                latents = {i: file.get_tensor(f"p{i}") for i in positions}
        except Exception as error:  # safetensors raises several unrelated types for a damaged file
            reason = " ".join(str(error).split())[:200] or type(error).__name__
            warnings.warn(f"inversion cache entry '{path}' is unreadable ({reason}); recomputing it", stacklevel=2)
            return None
        if any(tuple(latent.shape) != tuple(shape) for latent in latents.values()):
            warnings.warn(f"inversion cache entry '{path}' holds latents of another shape; recomputing", stacklevel=2)
            return None
        return {i: latent.to(device) for i, latent in latents.items()}

    def save(self, key: str, latents: dict[int, torch.Tensor], metadata: dict[str, object]) -> Path:
        """Write to a temporary file and rename it into place: a reader, an interrupted run, or a second
        process filling the same entry never sees a half-written file."""
        tensors = {f"p{i}": latent.detach().to("cpu").contiguous() for i, latent in latents.items()}
        with atomic_output(self.path(key)) as temporary:
            save_file(tensors, temporary, metadata={k: json.dumps(v, default=str) for k, v in metadata.items()})
        return self.path(key)


def model_fingerprint(model: str) -> str:
    """The model id, plus for a local folder the name, size and modification time of every file in it, so
    weights saved over the same folder (a retrained model) do not hit the inversions of the old ones."""
    folder = Path(model)
    if not folder.is_dir():
        return model  # a hub id: a new revision on the hub is not noticed
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    stats = [(str(path.relative_to(folder)), path.stat().st_size, path.stat().st_mtime_ns) for path in files]
    return f"{model}:{hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]}"


def default_cache_dir() -> Path:
    if "ANYV2V_CACHE" in os.environ:
        return Path(os.environ["ANYV2V_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "anyv2v" / "inversions"
