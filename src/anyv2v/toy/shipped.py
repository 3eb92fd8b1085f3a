"""Where the toy models shipped inside the package live: one diffusers-layout folder per backbone.

Kept apart from the model code so that the command line finds them without loading torch.
"""

from __future__ import annotations

from pathlib import Path

from anyv2v.errors import AnyV2VError

SHIPPED_MODELS = Path(__file__).parent / "weights"  # one folder per backbone whose toy ships


def shipped_backbones() -> list[str]:
    return sorted(path.name for path in SHIPPED_MODELS.iterdir() if (path / "model_index.json").is_file())


def shipped_model(backbone: str) -> Path:
    """The toy model of `backbone` shipped inside the package."""
    folder = SHIPPED_MODELS / backbone
    if not (folder / "model_index.json").is_file():
        raise AnyV2VError(
            f"no toy {backbone} model ships (toys ship for {', '.join(shipped_backbones())}): pass --model FOLDER, "
            f"one that `anyv2v train-toy --backbone {backbone}` saved"
        )
    return folder
