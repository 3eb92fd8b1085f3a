"""`anyv2v ui` on the command line: its safety defaults and its one-line errors."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys

from anyv2v.cli import main
from tests.ui.conftest import require_gradio


def test_the_command_line_and_the_package_load_without_gradio():
    code = "import sys, anyv2v, anyv2v.cli, anyv2v.ui.runs; anyv2v.cli.build_parser(); print('gradio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_without_the_ui_extra_the_command_says_how_to_install_it(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    assert main(["ui"]) == 2
    assert capsys.readouterr().err == "error: the web app needs gradio: pip install 'anyv2v[ui]'\n"


def test_it_listens_on_this_machine_unless_told_and_warns_when_told(monkeypatch, capsys, tmp_path):
    require_gradio()
    import anyv2v.ui.app

    launches = []
    monkeypatch.setattr(anyv2v.ui.app, "launch", lambda settings, **options: launches.append((settings, options)))
    assert main(["ui", "--model", "toy", "--output-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""
    assert main(["ui", "--host", "0.0.0.0", "--share", "--port", "8000", "--backbone", "svd"]) == 0
    warnings = capsys.readouterr().err
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine can use the app" in warnings
    assert "warning: --share makes a public link" in warnings
    (local, defaults), (public, options) = launches
    assert defaults == {"host": "127.0.0.1", "port": 7860, "share": False, "max_upload_mb": 200, "open_browser": False}
    assert (local.model, local.output_dir, local.max_seconds) == ("toy", tmp_path, 300)
    assert (public.backbone, options["host"], options["port"], options["share"]) == ("svd", "0.0.0.0", 8000, True)


def test_a_taken_port_is_a_one_line_error(tmp_path, capsys):
    require_gradio()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["ui", "--model", "toy", "--port", str(port), "--output-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.endswith(
        f"error: cannot listen on 127.0.0.1 port {port} (taken, or not this machine's): pass another --port or --host\n"
    )
