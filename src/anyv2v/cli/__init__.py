"""The `anyv2v` command line, one module per command group; flags map onto the config dataclasses' fields and
editor flags onto the chosen editor's options."""

from __future__ import annotations

import shlex
import sys
import warnings
from collections.abc import Sequence

from anyv2v.cli import edit, evaluate, info, toy, ui
from anyv2v.cli.options import OneLineParser
from anyv2v.errors import AnyV2VError


def build_parser(parser_class: type[OneLineParser] = OneLineParser) -> OneLineParser:
    """The whole command line; `RaisingParser` makes its usage errors exceptions (for the web app's commands)."""
    parser = parser_class(prog="anyv2v", description="Tuning-free video editing with image-to-video models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=parser_class)
    for group in (edit, toy, evaluate, info, ui):
        group.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.invocation = shlex.join(["anyv2v", *argv])  # quoted: it is recorded to be run again
    try:
        with warnings.catch_warnings():  # --quiet silences warnings for this command only
            args.run(args)
    except AnyV2VError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outputs are written to temporary names and renamed only when complete
        print("interrupted: no output was written", file=sys.stderr)
        return 130
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        if getattr(args, "runtime.sequential_offload", None):
            offload = ""
        elif getattr(args, "runtime.offload", None):
            offload = "use --sequential-offload, "
        else:
            offload = "add --offload (or --sequential-offload), "
        print(
            f"error: out of GPU memory: {offload}lower --decode-chunk-size (e.g. 2), or edit fewer --num-frames or "
            "a smaller --height/--width",
            file=sys.stderr,
        )
        return 2
    return 0


def is_out_of_memory(error: Exception) -> bool:
    """torch's out-of-memory error, checked without importing torch (a command that never loaded it has none)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(error, torch.OutOfMemoryError)
