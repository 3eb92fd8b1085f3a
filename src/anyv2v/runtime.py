"""Where models run and how files are written: shared by the pipeline, the backbones, the editors and the CLI."""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from anyv2v.errors import AnyV2VError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise AnyV2VError(f"unknown device {device!r}: use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise AnyV2VError("CUDA is not available here: use --device cpu (or install a CUDA build of torch)")
    return resolved


def resolve_dtype(dtype: torch.dtype | str | None, device: torch.device) -> torch.dtype:
    """Half precision on GPUs by default; on the CPU, float32, since half precision is slow or unsupported."""
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise AnyV2VError(f"unknown dtype {dtype!r}: use one of {', '.join(DTYPES)}")
        dtype = DTYPES[dtype]
    if dtype is None:
        return torch.float16 if device.type == "cuda" else torch.float32
    if device.type == "cpu" and dtype != torch.float32:
        warnings.warn(f"{dtype} is not supported well on the CPU: using float32 instead", stacklevel=3)
        return torch.float32
    return dtype


def check_model_folder(path: Path, subfolders: tuple[str, ...]) -> None:
    """Fail early, naming every missing part, instead of deep inside a loader."""
    if not path.is_dir():
        raise AnyV2VError(f"model folder '{path}' not found: pass a hub id or a folder in diffusers layout")
    missing = [name for name in ("model_index.json", *subfolders) if not (path / name).exists()]
    if missing:
        raise AnyV2VError(
            f"model folder '{path}' is incomplete (missing {', '.join(missing)}): "
            "save the full pipeline with save_pretrained or download it again"
        )


def looks_like_path(model: str) -> bool:
    return Path(model).expanduser().exists() or model.startswith((".", "/", "~")) or model.count("/") > 1


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `target` (same suffix) and move it into place only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Named, not created: the writer creates it, so it gets normal permissions (mkstemp's are 0600).
    temporary = target.with_name(f".{target.stem}.tmp-{secrets.token_hex(4)}{target.suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
