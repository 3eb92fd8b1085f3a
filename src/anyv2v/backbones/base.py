"""What AnyV2V needs from an image-to-video model: one subclass per backbone, mostly declarations.

A backbone declares its components (class per subfolder), default model, noise process, latent layout,
injection kinds (module-name patterns and default fractions), size and frame rules, and presets; it
implements encoding, conditioning and one model call. The inverters, the sampler, the injector, the cache,
the pipeline and the CLI read the declaration and never name a model family.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from PIL import Image

from anyv2v.config import EditConfig, InjectionConfig, VideoConfig
from anyv2v.errors import AnyV2VError
from anyv2v.noise import NoiseProcess
from anyv2v.runtime import check_model_folder, hub_files_only_local, looks_like_path

if TYPE_CHECKING:  # torch loads on first use, so that the command line starts fast
    import torch
    from torch import nn

Progress = Callable[[Iterable, str], Iterable]


@dataclass
class Condition:
    """Batched model conditions; subclasses add tensor fields whose first dimension is the batch."""

    @classmethod
    def cat(cls, conditions: list[Condition]) -> Condition:
        """Stack branches along the batch, the layout that injection hooks split again."""
        import torch

        kind = type(conditions[0])
        return kind(**{f.name: torch.cat([getattr(c, f.name) for c in conditions]) for f in dataclasses.fields(kind)})


@dataclass(frozen=True)
class FrameEncoding:
    """A conditioning frame as the model sees it: its image embedding and its latent."""

    embedding: torch.Tensor
    latent: torch.Tensor


@dataclass(frozen=True)
class InjectionKind:
    """One kind of source-branch feature that replaces the edit branches' own."""

    sites: tuple[str, ...]  # names of the denoiser's modules whose outputs are copied (fnmatch patterns)
    fraction: float  # default fraction of the sampling steps it is injected on
    help: str
    flag: str  # the CLI flag is --FLAG-injection


class Backbone(ABC):
    """An image-to-video diffusion model seen through the operations AnyV2V performs with it."""

    name: ClassVar[str]
    default_model: ClassVar[str]
    components: ClassVar[dict[str, str]]  # subfolder -> "module.Class", torch modules in the order a run uses them
    # Parts only some models of the family have: loaded where the model's model_index.json names them, else None
    optional_components: ClassVar[dict[str, str]] = {}
    denoiser: ClassVar[str]  # the component that predicts, and whose modules the injection sites name
    latent_layout: ClassVar[str]  # e.g. "BCFHW": what `encode_video`, `predict` and `decode_video` exchange
    injection_kinds: ClassVar[dict[str, InjectionKind]]
    presets: ClassVar[dict[str, EditConfig]]
    default_preset: ClassVar[str]
    options: ClassVar[dict[str, object]] = {}  # the backbone's own options (EditConfig.backbone) and defaults
    takes_text: ClassVar[bool] = True  # False: prompts must be empty
    size_multiple: ClassVar[int] = 1  # frame sides must be multiples of this (--resize fit rounds to it)
    # A recipe at the settings of the backbone's toy model (anyv2v/toy): what `demo` and `bench` run it with.
    # None: no toy design yet.
    toy_settings: ClassVar[Callable[[EditConfig], EditConfig] | None] = None

    process: NoiseProcess
    device: torch.device
    dtype: torch.dtype

    @classmethod
    def from_pretrained(
        cls, model: str, *, dtype: torch.dtype, device: torch.device, variant: str | None = None
    ) -> Backbone:
        """Load every declared component from a hub id or a local diffusers-layout folder (one code path)."""
        local, local_only = looks_like_path(model), False
        if local:
            model = str(Path(model).expanduser())
            check_model_folder(Path(model), ())
        else:
            local_only = hub_files_only_local(model)
        try:
            index = read_model_index(model, local_only=local_only)
            cls.check_family(model, index)  # first: another family's folder lacks some of this one's parts
            if local:
                check_model_folder(Path(model), tuple(cls.components))
            settings = cls.model_settings(index)
            present = {name: kind for name, kind in cls.optional_components.items() if index_names(index, name)}
            parts = {
                subfolder: load_component(
                    component_class(kind), model, subfolder, dtype=dtype, variant=variant, local_only=local_only
                )
                for subfolder, kind in {**cls.components, **present}.items()
            }
        except (OSError, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise AnyV2VError(
                f"could not load {cls.name} from '{model}' ({reason}): check the hub id or pass a local folder "
                "in diffusers layout"
            ) from None
        for part in parts.values():
            if _is_module(part):
                part.to(device).eval().requires_grad_(False)
        return cls(**{**dict.fromkeys(cls.optional_components), **parts}, **settings, device=device)

    @classmethod
    def check_family(cls, model: str, index: dict) -> None:
        """Refuse, before any weights load, a model of another family (an I2VGen-XL folder loaded as SVD), which
        would otherwise fail deep inside diffusers or be reported as missing this family's parts."""
        from anyv2v.backbones import BACKBONES

        if _holds_denoiser_of(cls, index):
            return
        owner = next((backbone for backbone in BACKBONES.values() if _holds_denoiser_of(backbone, index)), None)
        if owner is not None:
            raise AnyV2VError(
                f"'{model}' is a model for backbone {owner.name} ({owner.denoiser} {_denoiser_class(owner)}), not "
                f"{cls.name} ({cls.denoiser} {_denoiser_class(cls)}): load it with backbone '{owner.name}' "
                f"(--backbone {owner.name})"
            )

    @classmethod
    def model_settings(cls, index: dict) -> dict[str, object]:
        """Keyword arguments for the constructor from the model's model_index.json (pipeline-level settings, such
        as Wan's `expand_timesteps`); read before any weights load, so that a model this backbone cannot run is
        refused at once."""
        return {}

    @classmethod
    def preset(cls, name: str | None = None) -> EditConfig:
        name = name or cls.default_preset
        try:
            return cls.presets[name]
        except KeyError:
            raise AnyV2VError(
                f"backbone {cls.name} has no preset {name!r}: use one of {', '.join(sorted(cls.presets))}"
            ) from None

    @classmethod
    def check(cls, config: EditConfig) -> None:
        """Refuse, in one line, settings this backbone cannot run: unknown injection kinds, sizes, frames."""
        unknown_options = set(config.backbone) - set(cls.options)
        if unknown_options:
            known = ", ".join(cls.options) or "none"
            raise AnyV2VError(
                f"backbone {cls.name} has no option {', '.join(sorted(unknown_options))}: its options are {known}"
            )
        unknown = (set(config.injection.fractions) | set(config.injection.sites)) - set(cls.injection_kinds)
        if unknown:
            raise AnyV2VError(
                f"backbone {cls.name} has no injection kind {', '.join(sorted(unknown))}: "
                f"its kinds are {', '.join(cls.injection_kinds)}"
            )
        cls.check_video(config.video)

    @classmethod
    def check_video(cls, video: VideoConfig) -> None:
        """The backbone's own frame-count and size rules (VideoConfig checks the universal ones)."""
        check_size_multiple(cls.name, video, cls.size_multiple)

    def prepare(self, config: EditConfig) -> None:
        """Take this run's settings before anything is encoded (a backbone with options reads them here)."""
        self.run_options = {**self.options, **config.backbone}

    @classmethod
    def injection_fractions(cls, config: InjectionConfig) -> dict[str, float]:
        """Every kind's fraction of the sampling steps: the config's where it names one, else the default."""
        if not config.enabled:
            return dict.fromkeys(cls.injection_kinds, 0.0)
        return {kind: config.fractions.get(kind, declared.fraction) for kind, declared in cls.injection_kinds.items()}

    def injection_sites(self, config: InjectionConfig) -> dict[str, list[nn.Module]]:
        """The modules each kind hooks: the config's patterns where it gives some, else the declared ones."""
        named = list(self.denoiser_module.named_modules())
        sites = {}
        for kind, declared in self.injection_kinds.items():
            patterns = config.sites.get(kind, declared.sites)
            for pattern in patterns:
                if not any(fnmatchcase(name, pattern) for name, _ in named):
                    raise AnyV2VError(
                        f"injection site '{pattern}' ({kind}) matches no module of the {self.denoiser}: "
                        f"fix injection.{kind}_sites (module names as in {self.denoiser}.named_modules())"
                    )
            sites[kind] = [module for name, module in named if any(fnmatchcase(name, p) for p in patterns)]
        return sites

    @property
    def denoiser_module(self) -> nn.Module:
        return getattr(self, self.denoiser)

    def models(self) -> list[nn.Module]:
        """The torch modules, in the order a run uses them (for offloading)."""
        return [getattr(self, name) for name in self.components if _is_module(getattr(self, name))]

    @abstractmethod
    def encode_frame(self, frame: Image.Image, *, sample: bool, generator: torch.Generator | None) -> FrameEncoding:
        """Encode a conditioning frame once; several branches reuse it."""

    def embed_image(self, frame: Image.Image) -> torch.Tensor:
        """The conditioning frame's image embedding alone (`encode_frame` gives it without gradients; a toy
        model's trainer teaches its image encoder through this)."""
        raise NotImplementedError(f"backbone {self.name} has no image embedding to train")

    @abstractmethod
    def condition(self, prompt: str, frame: FrameEncoding, video: VideoConfig, *, negative: bool = False) -> Condition:
        """Conditions for one branch; `negative` builds the branch classifier-free guidance contrasts with."""

    def guide(self, output: torch.Tensor, guidance_scale: float) -> torch.Tensor:
        """Combine the negative and conditional halves of a batch of raw outputs (one scale for all frames)."""
        return classifier_free_guidance(output, guidance_scale)

    @abstractmethod
    def encode_video(
        self, frames: list[Image.Image], *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Latents of a clip, in `latent_layout`."""

    @abstractmethod
    def decode_video(self, latents: torch.Tensor, chunk_size: int, progress: Progress) -> torch.Tensor:
        """Frames as a float tensor (frames, height, width, 3) in [0, 1]."""

    @abstractmethod
    def denoise(self, latents: torch.Tensor, timestep: torch.Tensor, condition: Condition) -> torch.Tensor:
        """The raw model output for a batch of branches, with gradients where the weights want them: what
        training calls (`process.target` is what it should equal) and `predict` wraps."""

    def predict(self, latents: torch.Tensor, timestep: torch.Tensor, condition: Condition) -> torch.Tensor:
        """The raw model output for a batch of branches; `process.split` reads it."""
        import torch

        with torch.no_grad():
            return self.denoise(latents, timestep, condition)

    @abstractmethod
    def latent_sizes(self, video: VideoConfig) -> dict[str, int]:
        """The latent's channels, frames, height and width ("C", "F", "H", "W") for a video of this size."""

    def latent_shape(self, video: VideoConfig) -> tuple[int, ...]:
        """The shape of one video's latents, axes ordered as `latent_layout` says."""
        sizes = {"B": 1, **self.latent_sizes(video)}
        return tuple(sizes[axis] for axis in self.latent_layout)

    def enable_cpu_offload(self, sequential: bool = False) -> None:
        """Keep weights on the CPU: each model moves to the GPU only while it runs, or (`sequential`) each
        layer's weights only while that layer runs, which needs the least GPU memory and the most time."""
        import torch
        from accelerate import cpu_offload, cpu_offload_with_hook

        flag = "--sequential-offload" if sequential else "--offload"
        if self.device.type != "cuda":
            raise AnyV2VError(f"{flag} needs a CUDA device: drop {flag} or run with --device cuda")
        hook = None
        for module in self.models():
            module.to("cpu")
            if sequential:
                cpu_offload(module, self.device)
            else:
                _, hook = cpu_offload_with_hook(module, self.device, prev_module_hook=hook)
        torch.cuda.empty_cache()  # give back the memory the weights held, to this process's other users too


class ImageNormalization:
    """A CLIP image processor's settings (center square, resize, normalize), read from its
    `preprocessor_config.json` without transformers' image-processor classes, whose backend choice prints a
    torchvision notice on every load."""

    def __init__(self, size: tuple[int, int], mean: list[float], std: list[float]):
        self.size, self.mean, self.std = size, mean, std

    @classmethod
    def clip(cls, size: int) -> ImageNormalization:
        """OpenAI CLIP's normalization at a square input size (what CLIPImageProcessor defaults to)."""
        from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

        return cls((size, size), list(OPENAI_CLIP_MEAN), list(OPENAI_CLIP_STD))

    @classmethod
    def from_pretrained(cls, model: str, *, subfolder: str, local_files_only: bool = False) -> ImageNormalization:
        from huggingface_hub import hf_hub_download

        local = Path(model, subfolder, "preprocessor_config.json")
        path = (
            local
            if local.is_file()
            else hf_hub_download(
                model, "preprocessor_config.json", subfolder=subfolder, local_files_only=local_files_only
            )
        )
        settings = json.loads(Path(path).read_text())
        crop = settings.get("crop_size", 224)
        size = (crop["width"], crop["height"]) if isinstance(crop, dict) else (crop, crop)
        return cls(size, settings["image_mean"], settings["image_std"])

    def save_pretrained(self, folder: Path) -> None:
        """The same `preprocessor_config.json` transformers' CLIPImageProcessor writes and reads."""
        width, height = self.size
        settings = {
            "crop_size": {"height": height, "width": width}, "do_center_crop": True, "do_convert_rgb": True,
            "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": self.mean,
            "image_processor_type": "CLIPImageProcessor", "image_std": self.std, "resample": 3,
            "rescale_factor": 1 / 255, "size": {"shortest_edge": min(width, height)},
        }  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "preprocessor_config.json").write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")

    def __call__(self, frame: Image.Image) -> torch.Tensor:
        """(1, 3, height, width): the frame's central square at the encoder's input size, normalized."""
        import torch

        side = min(frame.size)
        left, top = (frame.width - side) // 2, (frame.height - side) // 2
        square = frame.crop((left, top, left + side, top + side)).resize(self.size, Image.BILINEAR)
        pixels = torch.from_numpy(np.asarray(square.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)
        return self.normalize(pixels.unsqueeze(0))

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1], already at the encoder's size, to the encoder's input statistics."""
        import torch

        mean = torch.tensor(self.mean, dtype=pixels.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=pixels.dtype).view(1, 3, 1, 1)
        return (pixels - mean) / std


def check_size_multiple(backbone: str, video: VideoConfig, multiple: int) -> None:
    """Height and width must be multiples of `multiple`: refused in one line naming the nearest that is."""
    for name in ("height", "width"):
        value = getattr(video, name)
        if value % multiple:
            raise AnyV2VError(
                f"{name} {value} is not a multiple of {multiple}, which {backbone} needs: use "
                f"{max(multiple, round(value / multiple) * multiple)} (--{name})"
            )


def read_model_index(model: str, *, local_only: bool = False) -> dict:
    """A diffusers model's model_index.json: its pipeline settings and which components it has."""
    local = Path(model, "model_index.json")
    if local.is_file():
        return json.loads(local.read_text())
    from huggingface_hub import hf_hub_download

    return json.loads(Path(hf_hub_download(model, "model_index.json", local_files_only=local_only)).read_text())


def _denoiser_class(backbone: type[Backbone]) -> str:
    return backbone.components[backbone.denoiser].rsplit(".", 1)[1]


def _holds_denoiser_of(backbone: type[Backbone], index: dict) -> bool:
    return index_names(index, backbone.denoiser) and index[backbone.denoiser][1] == _denoiser_class(backbone)


def index_names(index: dict, component: str) -> bool:
    """Whether a model_index.json names a component: an entry ["library", "Class"], not absent or [null, null]."""
    entry = index.get(component)
    return isinstance(entry, list) and bool(entry) and entry[0] is not None


def diffusers_pixels(frame: Image.Image) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1], the VAE's input range, laid out in memory (strides included) as diffusers' image
    processor gives it: the VAE then runs the same convolution kernels (other strides round 1e-4 differently)."""
    import torch

    array = np.asarray(frame.convert("RGB"), dtype=np.float32)[None] / 255.0
    return torch.from_numpy(array).permute(0, 3, 1, 2) * 2.0 - 1.0


def is_guided(guidance_scale: float) -> bool:
    """Whether a run at this scale has a negative branch beside the conditional one: the one rule that the
    branches run and the backbones' `guide` both follow."""
    return guidance_scale > 1


def classifier_free_guidance(output: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    """[negative, conditional] halves of a batch -> negative + scale · (conditional - negative); scale 1: as is."""
    if not is_guided(guidance_scale):
        return output
    negative, positive = output.chunk(2)
    return negative + guidance_scale * (positive - negative)


def no_grad(method: Callable) -> Callable:
    """torch.no_grad() around a method, with torch imported at the first call rather than at import."""

    @functools.wraps(method)
    def without_gradients(*args, **kwargs):
        import torch

        with torch.no_grad():
            return method(*args, **kwargs)

    return without_gradients


def _is_module(part: object) -> bool:
    from torch import nn

    return isinstance(part, nn.Module)


def component_class(name: str) -> type:
    """A component's class from its declared "module.Class" name, imported only when a model loads."""
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def load_component(
    kind: type, model: str, subfolder: str, *, dtype: torch.dtype, variant: str | None, local_only: bool = False
):
    """One component as its library loads it: weights as safetensors in `dtype`, schedulers as their config."""
    import transformers
    from diffusers import ModelMixin, SchedulerMixin

    where = {"subfolder": subfolder, "local_files_only": local_only}
    if issubclass(kind, ModelMixin):
        return kind.from_pretrained(model, **where, torch_dtype=dtype, variant=variant, use_safetensors=True)
    if issubclass(kind, transformers.PreTrainedModel):
        kwargs = {transformers_dtype_kwarg(): dtype, "variant": variant, "use_safetensors": True}
        return kind.from_pretrained(model, **where, **kwargs)
    if issubclass(kind, SchedulerMixin):
        return kind.load_config(model, **where)
    return kind.from_pretrained(model, **where)


def transformers_dtype_kwarg() -> str:
    """transformers renamed `torch_dtype` to `dtype` in 4.56; support both sides of the rename."""
    import transformers
    from packaging.version import Version

    return "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
