"""A throwaway installed plugin package, for the registry and CLI tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PLUGIN_SOURCE = """
from PIL import ImageOps

from anyv2v.editors import Editor


class Negative(Editor):
    name = "negative"
    description = "photographic negative"

    def apply(self, frame, request):
        return ImageOps.invert(frame)


class Mislabelled(Negative):
    name = "other-name"


class NotAnEditor:
    name = "not-an-editor"
"""


def install_plugin(root: Path, monkeypatch: pytest.MonkeyPatch, module: str, entry_points: dict[str, str]) -> None:
    """A throwaway installed distribution: a module plus its .dist-info (METADATA, entry_points.txt) on sys.path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(PLUGIN_SOURCE)
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[anyv2v.editors]\n{lines}\n")
    monkeypatch.syspath_prepend(str(root))  # also invalidates import caches
    monkeypatch.delitem(sys.modules, module, raising=False)
