"""The web app in a real browser: Debian's chromium, headless, driven by Playwright with that executable (no
browser download), against `anyv2v ui` serving the toy model (tests/ui/conftest.py).

ANYV2V_UI_SCREENSHOTS=FOLDER also saves the page before and after the run (the README's pictures).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageColor

from anyv2v.video import write_video
from tests.ui.conftest import (
    INVERSION_STEPS,
    QUICK_INVERSION_STEPS,
    QUICK_STEPS,
    STEPS,
    green_pixels,
    require,
    require_gradio,
)

CHROMIUM = os.environ.get("ANYV2V_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = os.environ.get("ANYV2V_UI_SCREENSHOTS")
PAINT_SIDE = 384  # the paint canvas's frame: 32 toy-model pixels, each 12 canvas pixels wide
RED, BLUE = (224, 36, 36), (31, 111, 224)  # the first and fourth brush colors
PALE_BLUE = "#acc6cd"  # the square at the lower left of the first synthetic example


@pytest.fixture(scope="module")
def browser():
    require_gradio()
    require(importlib.util.find_spec("playwright") is not None, "playwright is not installed: pip install -e '.[test]'")
    require(CHROMIUM is not None, "no chromium here: apt-get install chromium (or set ANYV2V_CHROMIUM to one)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, ui_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(ui_server.url)
    yield page
    context.close()


def wait_for_text(page, selector: str, text: str, errors_fail: bool = True) -> str:
    """The element's text once it shows `text`; an error message popping up on the page instead fails the test."""
    errors = "document.querySelector('.toast-body')" if errors_fail else "false"
    page.wait_for_function(f"([s, t]) => document.querySelector(s)?.innerText.includes(t) || {errors}",
                           arg=[selector, text])  # fmt: skip
    if text not in page.locator(selector).inner_text():
        pytest.fail(f"the page says: {page.locator('.toast-body').first.inner_text()}")
    return page.locator(selector).inner_text()


def load_clip(page, path: Path) -> str:
    page.locator("#source-video input[type=file]").set_input_files(str(path))
    return wait_for_text(page, "#video-info", "fps")


def shown_image(page, selector: str) -> np.ndarray:
    """The image an <img> shows, as served to the browser."""
    with urllib.request.urlopen(page.locator(f"{selector} img").get_attribute("src")) as response:
        return np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB"), int)


def decoded(path: str | Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def type_into(page, selector: str, value: str) -> None:
    """As a person types: the field commits its value when it loses the focus (typed again if a field that was
    just drawn took its old value back)."""
    field = page.locator(selector)
    for _ in range(5):
        field.fill(value)
        field.blur()
        page.wait_for_timeout(300)
        if field.input_value() == value:
            return
    pytest.fail(f"{selector} does not keep {value!r}")


def set_steps(page, steps: int = STEPS, inversion_steps: int = INVERSION_STEPS) -> None:
    if not page.locator("#steps input").is_visible():
        page.locator("#advanced").click()  # the folded advanced settings
        page.locator("#steps input").wait_for()
        page.wait_for_timeout(500)
    type_into(page, "#steps input", str(steps))
    type_into(page, "#inversion-steps input", str(inversion_steps))


def run_and_wait(page) -> str:
    page.locator("#run").click()
    return wait_for_text(page, "#status", "Done")


def screenshot(page, name: str, selector: str | None = None) -> None:
    """With ANYV2V_UI_SCREENSHOTS set: the whole page, or one part of it."""
    if SCREENSHOTS:
        path = str(Path(SCREENSHOTS) / name)
        page.locator(selector).screenshot(path=path) if selector else page.screenshot(path=path, full_page=True)


def test_a_clip_is_uploaded_edited_and_played_in_the_browser(page, ui_server, examples):
    info = load_clip(page, examples[0].video)
    assert "synthetic-0.mp4: 2.00 s at 8 fps, 96×96, 16 frames. Edited at 32×32." in info
    type_into(page, "#instruction textarea", f"{PALE_BLUE} -> hotpink")  # the recolor editor, offline
    page.get_by_text("Editor options").click()
    type_into(page, "#editor-options textarea", "tolerance=15")  # that colour only, not the green square's edge
    before, after = shown_image(page, "#original-frame"), edited_frame_after(page, "#edit-frame")
    square = np.abs(before - ImageColor.getrgb(PALE_BLUE)).sum(-1) < 30
    assert square.sum() > 20 and (after[square][:, 0] > after[square][:, 1] + 60).all()  # pink now
    changed = np.nonzero(np.abs(after - before).sum(-1))
    assert min(changed[0]) >= 24 and max(changed[1]) <= 8  # the rest is kept: only the lower left corner changed
    type_into(page, "#prompt textarea", "")  # the toy model was trained without text
    set_steps(page)
    screenshot(page, "before-run.png")

    status = run_and_wait(page)
    folder = Path(status.split("Done: ")[1].strip())
    assert folder.parent == ui_server.output_dir.resolve()
    video = page.locator("#result video")
    with urllib.request.urlopen(video.get_attribute("src")) as response, open(folder.parent / "served.mp4", "wb") as f:
        f.write(response.read())
    assert decoded(folder.parent / "served.mp4").shape == (8, 160 + 14, 3 * 160, 3)  # source | frame | AnyV2V
    played = video.evaluate(
        "async v => { await v.play(); await new Promise(r => setTimeout(r, 600));"
        " return [v.readyState, v.currentTime, v.videoWidth, v.error]; }"
    )  # fmt: skip
    assert played[0] >= 2 and played[1] > 0.2 and played[2] == 480 and played[3] is None  # it plays
    with page.expect_download() as download:
        page.locator("#download-video").click()
    result = decoded(download.value.path())
    assert result.shape == (8, 32, 32, 3) and np.array_equal(result, decoded(folder / "edited.mp4"))
    command = page.locator("#command textarea").input_value()
    assert f"--steps {STEPS} --inversion-steps {INVERSION_STEPS}" in command
    assert json.loads((folder / "edited.anyv2v.json").read_text())["command"] in command.replace("\n", " ")
    assert folder.name in page.locator("#runs").inner_text()  # the gallery of runs has it
    page.wait_for_timeout(500)
    screenshot(page, "after-run.png")


def paint(page, rows: range, columns: range) -> None:
    """Brush strokes over a block of toy-model pixels (frame coordinates), on the canvas as a person would."""
    canvas = page.locator("#paint canvas").first
    box = canvas.bounding_box()
    zoom = float(re.search(r"(\d+)%", page.locator("#paint").inner_text()).group(1)) / 100
    scale = zoom * PAINT_SIDE / 32  # screen pixels per frame pixel

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + box["width"] / 2 + (x - 16) * scale, box["y"] + box["height"] / 2 + (y - 16) * scale

    page.mouse.move(*at(columns.start, rows.start))
    page.mouse.down()
    for row in rows:  # the brush is wider than a frame pixel: one stroke a row covers the block
        page.mouse.move(*at(columns.start, row))
        page.mouse.move(*at(columns.stop, row), steps=2)
    page.mouse.up()


def pick(page, tool: str, color: tuple[int, int, int] | None = None) -> None:
    """A tool of the canvas's toolbar; with a colour, that swatch of the palette the tool opens."""
    page.locator(f"#paint button[aria-label='{tool}']").click()
    if color is not None:
        page.locator(f"#paint button.color[style*='rgb({color[0]}, {color[1]}, {color[2]})']").click()


def edited_frame_after(page, button: str) -> np.ndarray:
    """The edited frame that clicking `button` makes (the page shows a new one)."""
    image = page.locator("#edited-frame img")
    before = image.get_attribute("src") if image.count() else None
    page.locator(button).click()
    page.wait_for_function("s => document.querySelector('#edited-frame img')?.src && "
                           "document.querySelector('#edited-frame img').src !== s", arg=before)  # fmt: skip
    return shown_image(page, "#edited-frame")


def wait_until_idle(page, selector: str) -> None:
    """Until the component is no longer being updated by an event (gradio overlays "processing" meanwhile)."""
    page.wait_for_timeout(300)
    page.wait_for_function("s => !document.querySelector(s).innerText.includes('processing')", arg=selector)


def canvas_picture(page) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.locator("#paint canvas").first.screenshot())).convert("L"), int)


def wait_for_canvas(page, unlike: np.ndarray | None = None) -> None:
    """Until the canvas shows a frame (not its blank white), one other than `unlike` if given."""
    for _ in range(100):
        picture = canvas_picture(page)
        height, width = picture.shape
        shown = picture[height // 2 - 40 : height // 2 + 40, width // 2 - 40 : width // 2 + 40].mean() < 240
        if shown and (unlike is None or np.abs(picture - unlike).mean() > 1):
            return
        page.wait_for_timeout(200)
    pytest.fail("the paint canvas did not show the new frame")


def test_the_first_frame_is_painted_by_hand_edited_again_and_painted_over(page, ui_server, examples):
    page.locator("#video-examples button").first.click()  # a synthetic example, no upload
    wait_for_text(page, "#video-info", "synthetic-0.mp4")
    original = shown_image(page, "#original-frame")
    page.get_by_role("tab", name="Paint").click()
    wait_for_canvas(page)
    paint(page, range(4, 15, 2), range(4, 12))  # red, the default brush colour
    pick(page, "Erase")
    paint(page, range(12, 15, 2), range(4, 12))  # the lower rows wiped back to the frame
    painted = edited_frame_after(page, "#use-paint")
    assert np.abs(painted[5:8, 5:11] - RED).max() <= 2  # the brush
    assert np.abs(painted[14, 5:11] - original[14, 5:11]).max() <= 2  # the eraser
    assert np.array_equal(painted[18:], original[18:])  # and nothing else

    page.get_by_role("tab", name="Editor").click()  # an editor on the painted frame
    type_into(page, "#instruction textarea", "green -> yellow")
    page.get_by_label("Edit the edited frame again").check()
    recolored = edited_frame_after(page, "#edit-frame")
    green, square = green_pixels(original), green_pixels(original, inside=True)
    assert square.sum() > 20 and (recolored[square] @ (1, 1, -2) > 150).mean() > 0.9  # yellow now
    assert np.abs(recolored[5:8, 5:11] - RED).max() <= 2  # over the painting

    page.get_by_role("tab", name="Paint").click()
    before = canvas_picture(page)
    page.locator("#paint-over").click()  # the recolored frame onto the canvas
    wait_for_canvas(page, unlike=before)
    pick(page, "Color", BLUE)
    pick(page, "Brush")
    paint(page, range(20, 28, 2), range(20, 27))
    again = edited_frame_after(page, "#use-paint")
    screenshot(page, "painting.png", "#frame-step")
    assert np.abs(again[22:26, 22:25] - BLUE).max() <= 2 and np.abs(again[5:8, 5:11] - RED).max() <= 2
    assert np.array_equal(again[green], recolored[green])

    set_steps(page, QUICK_STEPS, QUICK_INVERSION_STEPS)
    folder = Path(run_and_wait(page).split("Done: ")[1].strip())
    assert np.array_equal(np.asarray(Image.open(folder / "frame.png"), int), again)  # the run took the painting
    assert decoded(folder / "edited.mp4").shape == (8, 32, 32, 3)


def test_a_bad_upload_is_explained_on_the_page(page, tmp_path):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    page.locator("#source-video input[type=file]").set_input_files(str(notes))
    info = wait_for_text(page, "#video-info", "Cannot use this video", errors_fail=False)  # the player says so too
    assert "cannot read 'notes.mp4' as a video (Invalid data found when processing input)" in info
    assert "\n" not in info.strip() and "/tmp" not in info
    big = write_video([Image.effect_noise((512, 512), 120).convert("RGB") for _ in range(12)], tmp_path / "big.mp4", 8)
    assert big.stat().st_size > 1_000_000
    page.reload()  # an empty upload box again
    page.locator("#source-video input[type=file]").set_input_files(str(big))
    toast = page.get_by_text("exceed the maximum allowed size of 1.0 Mb")
    toast.wait_for()


def test_cancel_stops_the_run_cleanly_and_the_next_one_runs(page, ui_server, examples):
    load_clip(page, examples[1].video)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload-frame input[type=file]").set_input_files(str(examples[1].edited_frame))
    page.wait_for_selector("#edited-frame img")
    set_steps(page, 50, 500)  # long enough to be cancelled
    runs = set(ui_server.output_dir.iterdir())
    page.locator("#run").click()
    wait_for_text(page, "#result", "inversion")  # the live progress bar
    page.locator("#cancel").click()
    wait_for_text(page, "#status", "Cancelled")
    page.wait_for_timeout(1500)
    assert set(ui_server.output_dir.iterdir()) == runs  # nothing written, no partial folder
    set_steps(page, QUICK_STEPS, QUICK_INVERSION_STEPS)
    run_and_wait(page)
    assert len(set(ui_server.output_dir.iterdir()) - runs) == 1
