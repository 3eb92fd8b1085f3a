"""The page of `anyv2v ui`, in gradio: four steps top to bottom (the source, its edited first frame, the run,
the result), each wired to a step of runs.py. Every handler is also an endpoint of the app's API (gradio_client).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from anyv2v.backbones import BACKBONES, backbone_class
from anyv2v.cli import is_out_of_memory
from anyv2v.cli.options import backbone_preset
from anyv2v.editors import get_editor, list_editors
from anyv2v.errors import AnyV2VError
from anyv2v.toy.world import World
from anyv2v.ui.examples import example_files
from anyv2v.ui.runs import (
    ADVANCED,
    INJECTION_FLAGS,
    AppSettings,
    Choices,
    EditorRequest,
    FirstFrame,
    RunFiles,
    Runner,
    advanced_flags,
    earlier_runs,
    edited_from_file,
    first_frame,
    for_painting,
    inspect_video,
)
from anyv2v.video import VideoInfo

BRUSH_COLORS = ["#e02424", "#f5b700", "#22b14c", "#1f6fe0", "#ffffff", "#000000"]
DEVICE = "device"  # the concurrency group of every step that runs a model: one at a time
PROGRESS = gr.Progress()  # gradio reports a run's steps through the handler's default Progress argument
# Small frames (the toy model's are 32 pixels) are shown enlarged, pixel for pixel.
CSS = (
    "#original-frame img, #edited-frame img {width: 100%; height: 100%; object-fit: contain} "
    "#original-frame img, #edited-frame img, #runs img {image-rendering: pixelated}"
)


@contextmanager
def shown_on_page() -> Iterator[None]:
    """A problem with the input or the setup reaches the page (and API clients) as its one-line message."""
    try:
        yield
    except AnyV2VError as error:
        raise gr.Error(html.escape(str(error), quote=False), duration=None, print_exception=False) from None
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        message = "out of GPU memory: edit fewer frames or a shorter span, or pick a preset with a smaller size"
        raise gr.Error(message, duration=None, print_exception=False) from None


class Page:
    """The components of the page and the handlers behind them."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.runner = Runner(settings)
        self.examples = example_files(settings.output_dir / "examples", World.of_model(settings.model))

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="AnyV2V", analytics_enabled=False) as app:
            gr.Markdown(self._header())
            with gr.Row(equal_height=False):
                with gr.Column():
                    self._source_step()
                with gr.Column(elem_id="frame-step"):
                    self._frame_step()
            self._run_step()
            self._result_step()
            self._wire()
            app.load(self.gallery, outputs=self.runs, api_visibility="private")
        return app

    def _header(self) -> str:
        settings = self.settings
        model = settings.model or backbone_class(settings.backbone).default_model
        return (
            "# AnyV2V\nEdit the first frame of a video, then an image-to-video model carries the edit through "
            f"time. Model: `{model}` ({settings.backbone}); outputs in `{settings.output_dir}`."
        )

    def _source_step(self) -> None:
        gr.Markdown("## 1. Source")
        self.video = gr.Video(label="Source video", sources=["upload"], elem_id="source-video", height=260)
        gr.Examples([[example.video] for example in self.examples], [self.video], label="Synthetic examples",
                    elem_id="video-examples")  # fmt: skip
        self.info = gr.Markdown("Upload a video or pick an example.", elem_id="video-info")
        with gr.Row():
            self.start = gr.Number(0, label="Start (s)", minimum=0, elem_id="start")
            self.end = gr.Number(0, label="End (s)", minimum=0, info="0: as Frames says", elem_id="end")
            self.frames = gr.Textbox("", label="Frames", placeholder="one window", info="a count, or all",
                                     elem_id="frames")  # fmt: skip
        self.resize = gr.Radio(["fit", "crop", "pad"], value="fit", label="Resize", elem_id="resize",
                               info="fit: the source's shape; crop: cover and crop; pad: black bars")  # fmt: skip
        with gr.Row():
            self.backbone = gr.Dropdown(list(BACKBONES), value=self.settings.backbone, label="Backbone")
            self.model = gr.Textbox(self.settings.model or "", label="Model", elem_id="model",
                                    placeholder=backbone_class(self.settings.backbone).default_model)  # fmt: skip
            presets = list(backbone_class(self.settings.backbone).presets)
            self.preset = gr.Dropdown(presets, value=self.settings.default_preset(), label="Preset")

    def _frame_step(self) -> None:
        gr.Markdown("## 2. Edited first frame")
        with gr.Tabs():
            with gr.Tab("Editor", elem_id="editor-tab"):
                self._editor_controls()
            with gr.Tab("Upload", elem_id="upload-tab"):
                self.upload = gr.Image(type="filepath", label="A first frame edited elsewhere", sources=["upload"],
                                       elem_id="upload-frame")  # fmt: skip
                gr.Examples([[example.edited_frame] for example in self.examples], [self.upload],
                            label="Perfect edits of the synthetic examples", elem_id="frame-examples")  # fmt: skip
            with gr.Tab("Paint", elem_id="paint-tab"):
                self.canvas = gr.ImageEditor(
                    type="pil", image_mode="RGB", format="png", sources=[], transforms=[], layers=False,
                    brush=gr.Brush(colors=BRUSH_COLORS, default_color=BRUSH_COLORS[0], color_mode="defaults"),
                    eraser=gr.Eraser(), label="Paint on the first frame", elem_id="paint", height=420,
                )  # fmt: skip
                with gr.Row():
                    self.use_paint = gr.Button("Use the painted frame", elem_id="use-paint")
                    self.paint_over = gr.Button("Paint over the edited frame", elem_id="paint-over")
        with gr.Row():
            self.original = gr.Image(label="Original first frame", interactive=False, format="png",
                                     elem_id="original-frame", height=240)  # fmt: skip
            self.edited = gr.Image(label="Edited first frame", type="filepath", interactive=False, format="png",
                                   elem_id="edited-frame", height=240)  # fmt: skip

    def _editor_controls(self) -> None:
        names = [entry.name for entry in list_editors() if entry.editor is not None]
        self.editor = gr.Dropdown(names, value="recolor" if "recolor" in names else names[0], label="Editor",
                                  elem_id="editor")  # fmt: skip
        self.editor_help = gr.Markdown(self.describe_editor(self.editor.value))
        self.instruction = gr.Textbox("", label="Instruction", elem_id="instruction")
        with gr.Row():
            self.reference = gr.Image(type="filepath", label="Reference image", sources=["upload"], height=160)
            self.mask = gr.Image(type="filepath", label="Mask (white: edit)", sources=["upload"], height=160)
        with gr.Accordion("Editor options", open=False):
            self.editor_options = gr.Textbox("", label="Options", lines=2, placeholder="KEY=VALUE, one a line",
                                             elem_id="editor-options")  # fmt: skip
            self.editor_model = gr.Textbox("", label="Editor model", placeholder="the editor's default weights")
        self.again = gr.Checkbox(False, label="Edit the edited frame again")
        self.edit_button = gr.Button("Edit the first frame", variant="primary", elem_id="edit-frame")

    def _run_step(self) -> None:
        gr.Markdown("## 3. Run AnyV2V")
        self.prompt = gr.Textbox("", label="Prompt", placeholder="what the edited video shows", elem_id="prompt",
                                 interactive=backbone_class(self.settings.backbone).takes_text)  # fmt: skip
        with gr.Accordion("Advanced", open=False, elem_id="advanced"):
            self.seed = gr.Number(0, label="Seed", precision=0, elem_id="seed")
            config = backbone_preset(self.settings.backbone, self.settings.default_preset())
            with gr.Row():
                self.numbers = [gr.Number(value(config), label=label, elem_id=flag[2:])
                                for flag, label, value in ADVANCED]  # fmt: skip
            fractions = backbone_class(self.settings.backbone).injection_fractions(config.injection)
            with gr.Row():  # one slider per kind of any backbone; the chosen backbone's are shown
                self.sliders = [
                    gr.Slider(0, 1, value=fractions.get(kind, 0), step=0.05, label=f"{kind} injection",
                              visible=kind in fractions, elem_id=flag[2:])
                    for kind, flag in INJECTION_FLAGS.items()
                ]  # fmt: skip
            self.injection = gr.JSON(fractions, visible=False)  # the shown sliders' values, kind -> fraction
        with gr.Row():
            self.run_button = gr.Button("Run", variant="primary", elem_id="run")
            self.cancel_button = gr.Button("Cancel", variant="stop", elem_id="cancel")
        self.status = gr.Markdown(elem_id="status")

    def _result_step(self) -> None:
        gr.Markdown("## 4. Result")
        with gr.Row(equal_height=False):
            self.preview = gr.Video(label="Source | edited frame | AnyV2V", interactive=False, autoplay=True,
                                    loop=True, elem_id="result", scale=3)  # fmt: skip
            with gr.Column(scale=1):
                self.download_video = gr.DownloadButton("Download the video", elem_id="download-video")
                self.download_frame = gr.DownloadButton("Download the edited frame", elem_id="download-frame")
                self.download_settings = gr.DownloadButton("Download the settings", elem_id="download-settings")
        self.command = gr.Textbox(label="Repeat it from the command line, inside the run's folder", lines=2,
                                  max_lines=4, interactive=False, buttons=["copy"], elem_id="command")  # fmt: skip
        self.runs = gr.Gallery(label="Earlier runs (pick one to see it again)", columns=6, height=260,
                               fit_columns=False, object_fit="contain", elem_id="runs")  # fmt: skip

    # wiring

    def _wire(self) -> None:
        span = [self.backbone, self.model, self.preset, self.start, self.end, self.frames, self.resize]
        private: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        self.video.change(self.load_video, [self.video, *span], [self.info, self.original, self.canvas, self.edited],
                          api_name="load_video", concurrency_limit=None)  # fmt: skip
        for control in (self.start, self.end, self.frames, self.resize, self.preset):
            control.change(self.first_frame, [self.video, *span], [self.original, self.canvas], **private)
        advanced = [*self.numbers, *self.sliders]
        self.backbone.change(self.backbone_changed, [self.backbone], [self.preset, self.model, self.prompt, *advanced],
                             **private)  # fmt: skip
        self.preset.change(self.preset_changed, [self.backbone, self.preset], advanced, **private)
        for slider in self.sliders:
            slider.change(self.collect_injection, [self.backbone, *self.sliders], [self.injection], **private)
        self.editor.change(self.describe_editor, [self.editor], [self.editor_help], **private)
        editor_inputs = [self.editor, self.instruction, self.editor_options, self.editor_model, self.again, self.video,
                         self.prompt, *span, self.seed, self.reference, self.mask, self.edited]  # fmt: skip
        self.edit_button.click(self.edit_frame, editor_inputs, [self.edited, self.prompt], api_name="edit_frame",
                               concurrency_id=DEVICE, concurrency_limit=1)  # fmt: skip
        self.upload.change(self.upload_frame, [self.upload, self.video, *span], [self.edited], api_name="upload_frame",
                           concurrency_limit=None)  # fmt: skip
        self.use_paint.click(self.paint_frame, [self.canvas, self.video, *span], [self.edited],
                             api_name="paint_frame", concurrency_limit=None)  # fmt: skip
        self.paint_over.click(self.paint_over_edited, [self.edited], [self.canvas], show_progress="hidden", **private)
        run_inputs = [self.video, self.edited, self.prompt, *span, self.seed, *self.numbers, self.injection]
        outputs = [self.preview, self.download_video, self.download_frame, self.download_settings, self.command,
                   self.runs, self.status]  # fmt: skip
        running = self.run_button.click(self.run, run_inputs, outputs, api_name="run", concurrency_id=DEVICE,
                                        concurrency_limit=1, show_progress_on=[self.preview])  # fmt: skip
        self.cancel_button.click(self.cancel, None, [self.status], cancels=[running], api_name="cancel", queue=False)
        self.runs.select(self.show_run, None, outputs[:5], **private)

    # handlers: each is an API endpoint or a private event of the page

    def load_video(self, video: str | None, backbone: str, model: str, preset: str, start: float, end: float | None,
                   frames: str, resize: str) -> tuple[str, Any, Any, None]:  # fmt: skip
        """What the upload is, and its first frame; a video that cannot be used is said on the page."""
        if not video:
            return "Upload a video or pick an example.", None, None, None
        try:
            info = inspect_video(video, self.settings.max_seconds)
            first = first_frame(video, self.choices(backbone, model, preset, start, end, frames, resize))
        except AnyV2VError as error:
            return f"**Cannot use this video:** {html.escape(str(error), quote=False)}", None, None, None
        return describe_video(Path(video).name, info, first), first.sized, first.canvas(), None

    def first_frame(self, video: str | None, backbone: str, model: str, preset: str, start: float,
                    end: float | None, frames: str, resize: str) -> tuple[Any, Any]:  # fmt: skip
        """The span's first frame again, after its start, the size or the preset changed."""
        if not video:
            return None, None
        with shown_on_page():
            first = first_frame(video, self.choices(backbone, model, preset, start, end, frames, resize))
        return first.sized, first.canvas()

    def backbone_changed(self, backbone: str) -> list[Any]:
        """The backbone's presets, default model, prompt (none for a model without text) and settings."""
        kind = backbone_class(backbone)
        preset = gr.Dropdown(choices=list(kind.presets), value=kind.default_preset)
        prompt = gr.Textbox(interactive=kind.takes_text, value="" if not kind.takes_text else gr.skip())
        return [preset, gr.Textbox(placeholder=kind.default_model), prompt, *self.preset_changed(backbone, None)]

    def preset_changed(self, backbone: str, preset: str | None) -> list[Any]:
        """The advanced settings show the preset's values, and the backbone's injection kinds only."""
        with shown_on_page():
            config = backbone_preset(backbone, preset or None)
        fractions = backbone_class(backbone).injection_fractions(config.injection)
        sliders = [gr.Slider(value=fractions.get(kind, 0), visible=kind in fractions) for kind in INJECTION_FLAGS]
        return [value(config) for _, _, value in ADVANCED] + sliders

    def collect_injection(self, backbone: str, *fractions: float) -> dict[str, float]:
        """The sliders of the backbone's injection kinds, as the run takes them."""
        kinds = backbone_class(backbone).injection_kinds
        return {kind: value for kind, value in zip(INJECTION_FLAGS, fractions, strict=True) if kind in kinds}

    def describe_editor(self, name: str) -> str:
        editor = get_editor(name)
        inputs = ", ".join(editor.inputs()) or "nothing but the frame"
        needs = "; ".join(editor.needs()) or "nothing to download"
        return f"{editor.description}. Takes: {inputs}. Needs: {needs}."

    def edit_frame(self, editor: str, instruction: str, options: str, editor_model: str, again: bool,
                   video: str | None, prompt: str, backbone: str, model: str, preset: str, start: float,
                   end: float | None, frames: str, resize: str, seed: float, reference: str | None = None,
                   mask: str | None = None, edited: str | None = None) -> tuple[Image.Image, str]:  # fmt: skip
        """The first frame (or, with `again`, the edited frame) through a registered editor; the prompt takes
        the instruction when it is empty. The images are optional (None) for API clients."""
        with shown_on_page():
            choices = self.choices(backbone, model, preset, start, end, frames, resize, seed)
            frame = Image.open(edited).convert("RGB") if again and edited else first_frame(video, choices).sized
            request = EditorRequest(
                editor, text(instruction) or None, (reference,) if reference else (), mask, text(editor_model),
                tuple(line.strip() for line in text(options).splitlines() if line.strip()),
            )  # fmt: skip
            result = self.runner.edit_frame(frame, request, choices)
        takes_text = backbone_class(backbone).takes_text
        return result, text(instruction) if takes_text and not text(prompt) else prompt

    def upload_frame(self, image: str | None, video: str | None, backbone: str, model: str, preset: str,
                     start: float, end: float | None, frames: str, resize: str) -> Any:  # fmt: skip
        """A first frame edited elsewhere, sized and cropped as the video is (an emptied upload changes nothing)."""
        if not image:
            return gr.skip()
        with shown_on_page():
            return edited_from_file(image, self._first(video, backbone, model, preset, start, end, frames, resize))

    def paint_frame(self, canvas: dict | None, video: str | None, backbone: str, model: str, preset: str,
                    start: float, end: float | None, frames: str, resize: str) -> Image.Image:  # fmt: skip
        """What was painted on the canvas, sized as the edit takes it."""
        with shown_on_page():
            painted = (canvas or {}).get("composite")
            if painted is None:
                raise AnyV2VError("nothing to use yet: load a video, then paint on its first frame")
            return self._first(video, backbone, model, preset, start, end, frames, resize).from_canvas(painted)

    def paint_over_edited(self, edited: str | None) -> dict[str, Any]:
        """The edited frame as the canvas's new background, without the strokes painted before."""
        with shown_on_page():
            if not edited:
                raise AnyV2VError("no edited frame yet: make one first (editor, upload or paint)")
            image = for_painting(Image.open(edited).convert("RGB"))
            return {"background": image, "layers": [], "composite": image}

    def run(self, video: str | None, edited_frame: str | None, prompt: str, backbone: str, model: str, preset: str,
            start: float, end: float | None, frames: str, resize: str, seed: float, steps: float,
            inversion_steps: float, guidance_scale: float, injection: dict[str, float] | None,
            request: gr.Request, progress=PROGRESS) -> tuple:  # fmt: skip
        """AnyV2V with the edited first frame: the side-by-side video, the files to download, the command that
        repeats the run, and the gallery of runs. `injection`: kind -> fraction of the steps."""
        with shown_on_page():
            choices = self.choices(backbone, model, preset, start, end, frames, resize, seed)
            choices = dataclasses.replace(choices, overrides=advanced_flags(
                backbone, preset, [steps, inversion_steps, guidance_scale], injection or {}))  # fmt: skip
            files = self.runner.run(
                video, edited_frame, text(prompt), choices, session=session_of(request),
                progress=lambda items, description: progress.tqdm(items, desc=description),
            )  # fmt: skip
        return *self._shown(files), self.gallery(), f"Done: `{files.folder.resolve()}`"

    def cancel(self, request: gr.Request) -> str:
        """Stop this visitor's run at its next step."""
        if self.runner.cancel(session_of(request)):
            return "Cancelled: the run stops at its next step and writes nothing."
        return "Nothing is running."

    def show_run(self, selected: gr.SelectData) -> tuple:
        """An earlier run, picked in the gallery, back in the result panel."""
        return self._shown(earlier_runs(self.settings.output_dir)[selected.index])

    def gallery(self) -> list[tuple[str, str]]:
        """Earlier runs by their edited frame; picking one plays it."""
        return [(str(files.frame), files.caption()) for files in earlier_runs(self.settings.output_dir)]

    # helpers

    def choices(self, backbone: str, model: str, preset: str, start: float, end: float | None, frames: str,
                resize: str, seed: float = 0) -> Choices:  # fmt: skip
        """The page's settings as `anyv2v edit` flags."""
        return Choices(
            backbone=backbone, model=text(model) or None, preset=preset or None, start=float(start or 0),
            end=float(end) if end else None, frames=text(frames) or None, resize=resize or "fit",
            seed=int(seed or 0), device=self.settings.device,
        )  # fmt: skip

    def _first(self, video: str | None, backbone: str, model: str, preset: str, start: float, end: float | None,
               frames: str, resize: str) -> FirstFrame:  # fmt: skip
        return first_frame(video, self.choices(backbone, model, preset, start, end, frames, resize))

    @staticmethod
    def _shown(files: RunFiles) -> tuple[str, str, str, str, str]:
        return str(files.preview), str(files.video), str(files.frame), str(files.settings), files.record()["command"]


def text(value: str | None) -> str:
    """A text box's value, stripped; a box the page never rendered gives None."""
    return (value or "").strip()


def session_of(request: gr.Request | None) -> str:
    """Whose run it is: the browser tab's (or API client's) session."""
    return getattr(request, "session_hash", None) or ""


def describe_video(name: str, info: VideoInfo, first: FirstFrame) -> str:
    size = f"{first.sized.width}×{first.sized.height}"
    return (
        f"**{html.escape(name, quote=False)}**: {info.duration:.2f} s at {info.fps:g} fps, {info.width}×{info.height}, "
        f"{info.frames} frames. Edited at {size}."
    )


def build_app(settings: AppSettings) -> gr.Blocks:
    app = Page(settings).build()
    app.queue(default_concurrency_limit=1)
    return app


def launch(settings: AppSettings, *, host: str, port: int, share: bool, max_upload_mb: float,
           open_browser: bool) -> None:  # fmt: skip
    """Serve the page until interrupted: only the app's own files and its outputs are served."""
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    try:
        app.launch(
            server_name=host, server_port=port, share=share, inbrowser=open_browser, ssr_mode=False,
            max_file_size=f"{max_upload_mb:g}mb", allowed_paths=[str(settings.output_dir.resolve())], css=CSS,
            footer_links=["api"], show_error=True,
        )  # fmt: skip
    except OSError:  # gradio's words name its own launch() arguments, not this command's flags
        raise AnyV2VError(f"cannot listen on {host} port {port} (taken, or not this machine's): pass another "
                          "--port or --host") from None  # fmt: skip
