"""Where models run and how files are written: shared by the pipeline, the backbones, the editors and the CLI."""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from anyv2v.errors import AnyV2VError

if TYPE_CHECKING:
    import torch

DTYPES = ("float32", "float16", "bfloat16")
TOY_MODEL = "toy"  # the model name of a backbone's toy model shipped inside the package


def resolve_device(device: str | torch.device | None) -> torch.device:
    import torch

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
    import torch

    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise AnyV2VError(f"unknown dtype {dtype!r}: use one of {', '.join(DTYPES)}")
        dtype = getattr(torch, dtype)
    if dtype is None:
        return torch.float16 if device.type == "cuda" else torch.float32
    if device.type == "cpu" and dtype != torch.float32:
        warnings.warn(f"{dtype} is not supported well on the CPU: using float32 instead", stacklevel=3)
        return torch.float32
    return dtype


def default_threads() -> int:
    """CPU threads for torch: half the cores this process may use, fewer if other programs keep more than the
    other half busy (load average), at least 1. torch's default, every core, collapses on a busy machine: its
    threads spin waiting for each other while other programs hold the cores; the load average alone reacts
    too late to a program that has just started."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores // 2, round(cores - busy)))


def set_threads(threads: int | None) -> int:
    """Use `threads` CPU threads (default: `default_threads()`); returns the number set."""
    import torch

    if threads is not None and threads < 1:
        raise AnyV2VError(f"--threads is {threads}: use 1 or more")
    count = threads or default_threads()
    torch.set_num_threads(count)
    return count


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


def hub_files_only_local(model: str, *, marker: str = "model_index.json") -> bool:
    """For a hub id: whether to load from the local Hugging Face cache only. Fails at once, in one line, when
    the hub cannot be reached and the model is not cached (no `marker` file there: a diffusers pipeline's
    model_index.json by default, config.json for a transformers model), instead of after the loaders'
    retries with a message that blames the id."""
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    if not huggingface_hub.constants.HF_HUB_OFFLINE:
        try:
            huggingface_hub.model_info(model, timeout=10)
            return False
        except GatedRepoError:
            raise AnyV2VError(
                f"'{model}' is gated on the hub: accept its license on its page, then run 'hf auth login'"
            ) from None
        except RepositoryNotFoundError:
            raise AnyV2VError(
                f"there is no model '{model}' on the hub: check the hub id or pass a local folder"
            ) from None
        except Exception:  # no connection (httpx, requests or OS errors, depending on the versions installed)
            pass
    try:
        huggingface_hub.snapshot_download(model, local_files_only=True, allow_patterns=[marker])
    except LocalEntryNotFoundError:
        raise AnyV2VError(
            f"the Hugging Face hub cannot be reached (no connection, or HF_HUB_OFFLINE is set) and '{model}' is "
            f"not in the local cache: download it once where there is internet ('hf download {model}') or pass "
            "a local folder"
        ) from None
    return True


def looks_like_path(model: str) -> bool:
    return Path(model).expanduser().exists() or model.startswith((".", "/", "~")) or model.count("/") > 1


@contextmanager
def library_progress_bars(enabled: bool) -> Iterator[None]:
    """diffusers' and transformers' own bars ("Loading weights", ...) on or off for a block, restored after."""
    import diffusers
    import transformers

    loggers = [library.utils.logging for library in (diffusers, transformers)]
    before = [logging.is_progress_bar_enabled() for logging in loggers]
    for logging in loggers:
        _show_progress_bars(logging, enabled)
    try:
        yield
    finally:
        for logging, was_enabled in zip(loggers, before, strict=True):
            _show_progress_bars(logging, was_enabled)


def _show_progress_bars(logging, enabled: bool) -> None:
    if enabled:
        logging.enable_progress_bar()
    else:
        logging.disable_progress_bar()


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
