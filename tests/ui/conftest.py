"""Fixtures of the web app's tests: the synthetic example clips, and `anyv2v ui` serving the toy model on a free
local port, as a person would start it."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from anyv2v.ui.examples import Example, example_files

REQUIRED = "ANYV2V_REQUIRE_BROWSER"  # .ci/run sets it: there, what these tests need must be installed
STEPS, INVERSION_STEPS = 10, 20  # the toy model carries an edit at these, in seconds
QUICK_STEPS, QUICK_INVERSION_STEPS = 4, 8  # where the look of the video does not matter


def green_pixels(frame: np.ndarray, *, inside: bool = False) -> np.ndarray:
    """The green square of the first synthetic example. Its anti-aliased rim blends with the background, and the
    recolor editor rightly leaves rim pixels whose hue the blend took out of green: `inside` keeps only green
    pixels whose four neighbours are green too."""
    green = (frame[..., 1] > frame[..., 0] + 40) & (frame[..., 1] > frame[..., 2] + 20)
    if not inside:
        return green
    ring = np.pad(green, 1)
    return green & ring[:-2, 1:-1] & ring[2:, 1:-1] & ring[1:-1, :-2] & ring[1:-1, 2:]


def require(available: bool, reason: str) -> None:
    """Skip, saying why, where something the test needs is not installed; fail instead where CI requires it."""
    if available:
        return
    if os.environ.get(REQUIRED):
        pytest.fail(f"{reason} ({REQUIRED} is set, so this test may not be skipped)")
    pytest.skip(reason)


def require_gradio() -> None:
    installed = all(importlib.util.find_spec(name) is not None for name in ("gradio", "gradio_client"))
    require(installed, "the web app's extra is not installed: pip install -e '.[ui]'")


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> list[Example]:
    return example_files(tmp_path_factory.mktemp("examples"))


@pytest.fixture(autouse=True)
def private_inversion_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs keep their inversions out of the user's cache."""
    monkeypatch.setenv("ANYV2V_CACHE", str(tmp_path / "inversions"))


@dataclass(frozen=True)
class Server:
    url: str
    output_dir: Path
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`anyv2v ui --model toy` on a free port, offline, with small upload and length limits to test them."""
    require_gradio()
    folder = tmp_path_factory.mktemp("ui-server")
    port = free_port()
    server = Server(f"http://127.0.0.1:{port}/", folder / "runs", folder / "server.log")
    command = [sys.executable, "-m", "anyv2v.cli", "ui", "--model", "toy", "--port", str(port), "--output-dir",
               str(server.output_dir), "--max-upload-mb", "1", "--max-seconds", "10"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "ANYV2V_CACHE": str(folder / "inversions"), "GRADIO_TEMP_DIR": str(folder / "gradio")}  # fmt: skip
    with open(server.log, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_serving(server, process)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_serving(server: Server, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"anyv2v ui exited with {process.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"anyv2v ui did not answer within {timeout:g} s:\n{server.log.read_text()[-3000:]}")
