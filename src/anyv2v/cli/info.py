"""`anyv2v editors` and `anyv2v backbones`: what is installed, and what each needs or offers."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from anyv2v.backbones import BACKBONES
from anyv2v.editors import list_editors


def add_parsers(commands: argparse._SubParsersAction) -> None:
    editors = commands.add_parser("editors", help="list the first-frame editors and what each needs")
    editors.set_defaults(run=run_editors)
    backbones = commands.add_parser("backbones", help="list the image-to-video backbones, their models and options")
    backbones.set_defaults(run=run_backbones)


def run_editors(args: argparse.Namespace) -> None:
    """The registry as a table: built-ins, then plugins (a broken plugin shows its error)."""
    rows = [("NAME", "KIND", "INPUTS", "NEEDS", "DESCRIPTION")]
    for entry in list_editors():
        editor = entry.editor
        if editor is None:
            rows.append((entry.name, "broken", "", entry.error, f"from {entry.origin}"))
        else:
            origin = "" if entry.origin == "built-in" else f" (from {entry.origin})"
            needs = "; ".join(editor.needs()) or "nothing"
            rows.append((entry.name, editor.kind, ", ".join(editor.inputs()), needs, editor.description + origin))
    print_table(rows)


def run_backbones(args: argparse.Namespace) -> None:
    """Each backbone's default model, presets, and injection kinds with their flags and default fractions."""
    rows = [("NAME", "DEFAULT MODEL", "PRESETS", "INJECTION KINDS (flag: default fraction)")]
    for backbone in BACKBONES.values():
        presets = ", ".join(f"{name}*" if name == backbone.default_preset else name for name in backbone.presets)
        kinds = "; ".join(
            f"{name} (--{kind.flag}-injection: {kind.fraction})" for name, kind in backbone.injection_kinds.items()
        )
        rows.append((backbone.name, backbone.default_model, presets, kinds))
    print_table(rows)
    print("* the default preset")
    for backbone in BACKBONES.values():
        if backbone.options:
            options = ", ".join(f"{name}={value}" for name, value in backbone.options.items())
            print(f"{backbone.name} options (--backbone-option KEY=VALUE): {options}")


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell; the last column runs free."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]).rstrip())
