"""`anyv2v ui`: the web app (anyv2v/ui), served on this machine only unless asked otherwise."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from anyv2v.backbones import BACKBONES, backbone_class
from anyv2v.errors import AnyV2VError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    ui = commands.add_parser("ui", help="the whole edit in a local web page (needs: pip install 'anyv2v[ui]')")
    ui.add_argument("--model", help="hub id, local diffusers-layout folder, or 'toy' (default: the backbone's)")
    ui.add_argument("--backbone", default="i2vgen-xl", help=f"image-to-video model ({', '.join(BACKBONES)})")
    ui.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda if available)")
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    ui.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    ui.add_argument("--share", action="store_true", help="also make a public gradio.live link (off by default)")
    ui.add_argument("--output-dir", default="anyv2v-runs", help="folder of the runs (default ./anyv2v-runs)")
    ui.add_argument("--max-upload-mb", type=float, default=200, help="largest upload accepted (default 200 MB)")
    ui.add_argument("--max-seconds", type=float, default=300, help="longest video accepted (default 300 s)")
    ui.add_argument("--open", action="store_true", help="open the page in the default browser")
    ui.set_defaults(run=run_ui)


def run_ui(args: argparse.Namespace) -> None:
    backbone_class(args.backbone)
    if importlib.util.find_spec("gradio") is None:
        raise AnyV2VError("the web app needs gradio: pip install 'anyv2v[ui]'")
    if args.max_upload_mb <= 0 or args.max_seconds <= 0:
        raise AnyV2VError("--max-upload-mb and --max-seconds must be positive")
    if args.host not in LOCAL_HOSTS:
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use the app, run models "
              "on it and download its outputs", file=sys.stderr)  # fmt: skip
    if args.share:
        print("warning: --share makes a public link: anyone with it can use the app", file=sys.stderr)
    from anyv2v.ui.app import launch
    from anyv2v.ui.runs import AppSettings

    settings = AppSettings(Path(args.output_dir).expanduser(), args.model, args.backbone, args.device,
                           args.max_seconds)  # fmt: skip
    launch(settings, host=args.host, port=args.port, share=args.share, max_upload_mb=args.max_upload_mb,
           open_browser=args.open)  # fmt: skip
