"""Editor names: the built-ins, then whatever installed packages register in the `anyv2v.editors` entry-point group.

Built-ins are named by import path and imported only when used, so listing editors or running an offline one
never pays for importing diffusers pipelines. A third-party package registers its editor class with

    [project.entry-points."anyv2v.editors"]
    my-editor = "my_package.module:MyEditor"
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from anyv2v.editors.base import Editor
from anyv2v.errors import AnyV2VError

ENTRY_POINT_GROUP = "anyv2v.editors"

BUILTIN_EDITORS: dict[str, str] = {
    "frame": "anyv2v.editors.frame:FrameEditor",
    "recolor": "anyv2v.editors.recolor:RecolorEditor",
    "color-transfer": "anyv2v.editors.color_transfer:ColorTransferEditor",
    "stylize": "anyv2v.editors.stylize:StylizeEditor",
    "opencv-stylize": "anyv2v.editors.stylize:OpenCVStylizeEditor",
    "instruct-pix2pix": "anyv2v.editors.instruct_pix2pix:InstructPix2PixEditor",
    "magicbrush": "anyv2v.editors.instruct_pix2pix:MagicBrushEditor",
    "cosxl-edit": "anyv2v.editors.cosxl:CosXLEditEditor",
    "instantstyle": "anyv2v.editors.instantstyle:InstantStyleEditor",
    "flux-kontext": "anyv2v.editors.flux_kontext:FluxKontextEditor",
}


@dataclass(frozen=True)
class EditorEntry:
    """One registered name; `error` says why a plugin's class could not be loaded (then `editor` is None)."""

    name: str
    origin: str  # "built-in" or the distribution that registered it
    editor: type[Editor] | None
    error: str | None = None


def get_editor(name: str) -> type[Editor]:
    """The editor class registered under `name`; an unknown name lists the known ones."""
    if name in BUILTIN_EDITORS:
        return _load_builtin(name)
    plugins = _plugin_entry_points()
    if name not in plugins:
        known = ", ".join([*BUILTIN_EDITORS, *sorted(plugins)])
        raise AnyV2VError(f"unknown editor {name!r}: use one of {known} (see 'anyv2v editors')")
    return _load_plugin(plugins[name])


def create_editor(name: str, **options: Any) -> Editor:
    """Shorthand for `get_editor(name).from_options(**options)`."""
    return get_editor(name).from_options(**options)


def list_editors() -> list[EditorEntry]:
    """Every registered editor, built-ins first; a plugin that fails to import is listed with its error."""
    entries = [EditorEntry(name, "built-in", _load_builtin(name)) for name in BUILTIN_EDITORS]
    for name, entry_point in sorted(_plugin_entry_points().items()):
        origin = entry_point.dist.name if entry_point.dist else entry_point.value
        try:
            entries.append(EditorEntry(name, origin, _load_plugin(entry_point)))
        except AnyV2VError as error:
            entries.append(EditorEntry(name, origin, None, str(error)))
    return entries


def _load_builtin(name: str) -> type[Editor]:
    module, attribute = BUILTIN_EDITORS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def _plugin_entry_points() -> dict[str, EntryPoint]:
    """Entry points of the group by name, read afresh so packages installed meanwhile show up."""
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in BUILTIN_EDITORS:
            warnings.warn(
                f"ignoring plugin editor {entry_point.name!r} ({entry_point.value}): a built-in editor has that name",
                stacklevel=3,
            )
        else:
            found.setdefault(entry_point.name, entry_point)
    return found


def _load_plugin(entry_point: EntryPoint) -> type[Editor]:
    where = f"plugin editor '{entry_point.name}' ({entry_point.value})"
    try:
        editor = entry_point.load()
    except Exception as error:  # a broken third-party package may raise anything on import
        reason = " ".join(str(error).split()) or type(error).__name__
        raise AnyV2VError(f"{where} failed to load ({reason}): reinstall or fix that package") from None
    if not (isinstance(editor, type) and issubclass(editor, Editor)):
        raise AnyV2VError(f"{where} is not an anyv2v.editors.Editor subclass: fix that package's entry point")
    if getattr(editor, "name", None) != entry_point.name:
        raise AnyV2VError(
            f"{where} is named {getattr(editor, 'name', None)!r} in its class: make its `name` match the entry point"
        )
    return editor
