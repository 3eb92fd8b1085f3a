"""The web app's API through gradio_client, against `anyv2v ui` serving the toy model (tests/ui/conftest.py)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from anyv2v.video import write_video
from tests.ui.conftest import INVERSION_STEPS, STEPS, green_pixels, require_gradio


@pytest.fixture
def client(ui_server):
    require_gradio()
    from gradio_client import Client

    return Client(ui_server.url, verbose=False)


def upload(path: Path):
    from gradio_client import handle_file

    return handle_file(str(path))


def frame_count(path: str | Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_the_api_edits_a_clip_from_upload_to_result(client, ui_server, examples):
    clip = upload(examples[0].video)
    info, original, _, edited = client.predict(video=clip, api_name="/load_video")
    assert "2.00 s at 8 fps, 96×96, 16 frames. Edited at 32×32" in info and edited is None
    frame, prompt = client.predict(editor="recolor", instruction="green -> red", video=clip, api_name="/edit_frame")
    before, after = (np.asarray(Image.open(path).convert("RGB"), int) for path in (original, frame))
    green, square = green_pixels(before), green_pixels(before, inside=True)
    assert square.sum() > 20 and (after[square][:, 0] > after[square][:, 1]).mean() > 0.9  # the green square is red
    assert np.abs(after - before)[~green].mean() < 3 and prompt == "green -> red"  # the rest is kept

    preview, video, frame_file, settings, command, runs, status = client.predict(
        video=clip, edited_frame=upload(Path(frame)), prompt="", steps=STEPS, inversion_steps=INVERSION_STEPS,
        api_name="/run",
    )  # fmt: skip
    assert frame_count(video) == 8 and frame_count(preview) == 8  # one toy window, played side by side
    record = json.loads(Path(settings).read_text())
    assert record["command"] == command
    assert command.endswith(f"--model toy --preset toy --seed 0 --steps {STEPS} --inversion-steps {INVERSION_STEPS}")
    folder = Path(status.split("`")[1])
    assert folder.parent == ui_server.output_dir.resolve() and (folder / "edited.mp4").is_file()
    assert np.array_equal(np.asarray(Image.open(frame_file)), after)
    assert any(folder.name in run["caption"] for run in runs)


def test_problems_reach_the_client_as_their_one_line_message(client, ui_server, examples, tmp_path):
    from gradio_client.exceptions import AppError

    clip = upload(examples[0].video)
    with pytest.raises(AppError, match=r"no edited first frame yet: run an editor, upload a frame or paint one"):
        client.predict(video=clip, edited_frame=None, api_name="/run")
    with pytest.raises(AppError, match=r"'someone/not-downloaded' is not in the local cache: download it once where "
                                       r"there is internet \('hf download someone/not-downloaded'\)"):  # fmt: skip
        client.predict(video=clip, edited_frame=upload(examples[0].edited_frame), model="someone/not-downloaded",
                       api_name="/run")  # fmt: skip
    with pytest.raises(AppError, match="editor 'recolor' needs an instruction"):
        client.predict(editor="recolor", video=clip, api_name="/edit_frame")
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    long = write_video([Image.new("RGB", (16, 16), (i, i, i)) for i in range(24)], tmp_path / "long.mp4", fps=2)
    for path, message in ((notes, "cannot read 'notes.mp4' as a video"), (long, "12 s long and this app takes up to")):
        info, original, *_ = client.predict(video=upload(path), api_name="/load_video")
        assert info.startswith("**Cannot use this video:**") and message in info and original is None
    assert [path.name for path in ui_server.output_dir.iterdir() if not path.name.startswith("run-")] == ["examples"]


def test_only_the_apps_own_files_are_served_and_uploads_are_capped(ui_server, examples):
    for path in ("/etc/passwd", Path(__file__).resolve(), ui_server.log):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{ui_server.url}gradio_api/file={path}")
        assert refused.value.code == 403
    example = Path(examples[0].video.parent.name) / examples[0].video.name  # the server's copy: the same world
    served = f"{ui_server.url}gradio_api/file={ui_server.output_dir.resolve() / 'examples' / example}"
    with urllib.request.urlopen(served) as response:  # the example clips, like every output, are the app's own
        assert response.status == 200
    boundary = "anyv2v-test"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.mp4"\r\n\r\n'
    body = head.encode() + os.urandom(1_200_000) + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{ui_server.url}gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 413  # over the server's --max-upload-mb 1
