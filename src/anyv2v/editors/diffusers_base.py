"""What the diffusers-based editors share: loading a pipeline from a hub id or a local diffusers-layout folder
(safetensors only), device and dtype choice, the working resolution, and releasing the GPU afterwards."""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from diffusers import DiffusionPipeline
from PIL import Image

from anyv2v.editors.base import Editor, EditorOptions, EditRequest
from anyv2v.errors import AnyV2VError
from anyv2v.runtime import check_model_folder, hub_files_only_local, looks_like_path, resolve_device, resolve_dtype


@dataclass(frozen=True)
class DiffusersOptions(EditorOptions):
    model: str | None = None  # hub id or local diffusers-layout folder; default: the editor's weights
    variant: str | None = None  # weights variant, e.g. fp16
    device: str | None = None  # default: cuda if available
    dtype: str | None = None  # float32, float16 or bfloat16; default: the editor's half precision on cuda
    steps: int = 30
    guidance_scale: float = 7.5
    # Edit at about resolution x resolution pixels (aspect kept), then resize back; None: at the frame's size.
    resolution: int | None = None
    progress: bool = True


class DiffusersEditor(Editor):
    """An editor wrapping one diffusers pipeline; subclasses name it and write `generate`."""

    kind = "diffusers"
    pipeline_class: ClassVar[type[DiffusionPipeline]]
    required_parts: ClassVar[tuple[str, ...]]  # subfolders a local model folder must have
    cuda_dtype: ClassVar[torch.dtype] = torch.float16
    Options = DiffusersOptions

    def __init__(self, options: DiffusersOptions | None = None):
        super().__init__(options)
        self.device = resolve_device(self.options.device)
        default_dtype = self.cuda_dtype if self.device.type == "cuda" else None
        self.dtype = resolve_dtype(self.options.dtype or default_dtype, self.device)
        pipe = self.load(self.options.model or self.weights[0])
        pipe.to(self.device)
        pipe.set_progress_bar_config(disable=not self.options.progress)
        self.pipe: DiffusionPipeline | None = pipe

    def load(self, model: str) -> DiffusionPipeline:
        """The pipeline, on the CPU; editors that load differently (single files, adapters) override this."""
        return load_pipeline(self.pipeline_class, model, self.required_parts, **self.load_arguments())

    def load_arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {"torch_dtype": self.dtype}
        if self.options.variant:
            arguments["variant"] = self.options.variant
        return arguments

    @property
    def size_multiple(self) -> int:
        """Working sizes are rounded down to this: the latent grid's cell in pixels."""
        return self.pipe.vae_scale_factor

    def apply(self, frame: Image.Image, request: EditRequest) -> Image.Image:
        if self.pipe is None:
            raise AnyV2VError(f"editor '{self.name}' was released: create a new one to edit again")
        size = working_size(frame.size, self.options.resolution, self.size_multiple)
        image = frame if size == frame.size else frame.resize(size, Image.Resampling.LANCZOS)
        return self.generate(image, request)

    @abstractmethod
    def generate(self, image: Image.Image, request: EditRequest) -> Image.Image:
        """Run the pipeline on the frame, already at the working size."""

    def release(self) -> None:
        """Drop the pipeline and hand its GPU memory back, so that the I2V model can load next."""
        self.pipe = None
        super().release()


def working_size(size: tuple[int, int], resolution: int | None, multiple: int) -> tuple[int, int]:
    """(width, height) scaled to about resolution² pixels (or kept), rounded down to a multiple of `multiple`."""
    width, height = size
    if resolution:
        scale = resolution / math.sqrt(width * height)
        width, height = round(width * scale), round(height * scale)
    return max(multiple, width // multiple * multiple), max(multiple, height // multiple * multiple)


def load_pipeline(
    pipeline_class: type[DiffusionPipeline], model: str, required_parts: tuple[str, ...], **arguments: Any
) -> DiffusionPipeline:
    """`pipeline_class` from a hub id or a local folder, the same code path for both; safetensors weights only.
    A hub id that is neither reachable nor cached fails at once, naming the download that fixes it."""
    if looks_like_path(model):
        path = Path(model).expanduser()
        check_model_folder(path, required_parts)
        model = str(path)
    else:
        arguments = {**arguments, "local_files_only": hub_files_only_local(model)}
    with loading_errors(pipeline_class.__name__, model):
        return pipeline_class.from_pretrained(model, use_safetensors=True, **arguments)


@contextmanager
def loading_errors(what: str, where: str) -> Iterator[None]:
    """Turn a loader's failure (missing files, no safetensors weights, hub errors) into a one-line error."""
    try:
        yield
    except (OSError, ValueError) as error:
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise AnyV2VError(
            f"could not load {what} from '{where}' ({reason}): check the hub id (and 'hf auth login' for gated "
            "models) or pass a local folder in diffusers layout with safetensors weights"
        ) from None


def first_image(output: Any, editor: str) -> Image.Image:
    """The pipeline's image, refusing one that its safety checker blacked out (it would become a black video)."""
    if any(getattr(output, "nsfw_content_detected", None) or ()):
        raise AnyV2VError(
            f"the safety checker of '{editor}' flagged the edited frame and blacked it out: change the instruction "
            "or the seed (--seed)"
        )
    return output.images[0]
