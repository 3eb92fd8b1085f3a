"""DDIM inversion of the source video, and a cache of its results on disk."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from anyv2v.backbones.base import Condition, Progress
from anyv2v.sampling import Predict, branch_count, guide, step_frames
from anyv2v.video import atomic_output


def ddim_invert(
    predict: Predict,
    inverse_scheduler,
    latents: torch.Tensor,
    condition: Condition,
    guidance_scale: float,
    keep: Collection[int],
    *,
    progress: Progress,
) -> dict[int, torch.Tensor]:
    """Run DDIM backwards from clean latents, keeping the noisy latent stored under each timestep in `keep`.

    The inverse step for timestep t evaluates the model at t on the latent of the previous (lower) level and
    yields the latent at level t. Steps past the highest kept timestep are never needed, so they are not run.
    """
    kept: dict[int, torch.Tensor] = {}
    last = max(keep)
    for t in progress([t for t in inverse_scheduler.timesteps if int(t) <= last], "inversion"):
        branches = torch.cat([latents] * branch_count(guidance_scale))
        output = predict(inverse_scheduler.scale_model_input(branches, t), t, condition)
        latents = step_frames(inverse_scheduler, guide(output, guidance_scale), t, latents)
        if int(t) in keep:
            kept[int(t)] = latents
    return kept


class InversionCache:
    """One safetensors file per inversion key (video content, model, size, frames, fps, steps, ...)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @staticmethod
    def key(**fields: object) -> str:
        text = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"{key}.safetensors"

    def load(self, key: str, needed: Collection[int], device: torch.device) -> dict[int, torch.Tensor] | None:
        """The cached latents if every needed timestep is there, else None."""
        path = self.path(key)
        if not path.is_file():
            return None
        with safe_open(str(path), framework="pt", device="cpu") as file:
            names = set(file.keys())
            if not all(f"t{t}" in names for t in needed):
                return None
            return {t: file.get_tensor(f"t{t}").to(device) for t in needed}

    def save(self, key: str, latents: dict[int, torch.Tensor], metadata: dict[str, object]) -> Path:
        """Write atomically, so an interrupted run never leaves a truncated cache file behind."""
        tensors = {f"t{t}": latent.detach().to("cpu").contiguous() for t, latent in latents.items()}
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
