"""What every first-frame editor is: a source frame plus an instruction and/or reference images in, an edited
frame of the same size out.

The checks every editor needs (which inputs it takes, its options, its pip extra, the output size) live here, so
an editor module, built-in or third-party, only writes `apply`.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
import sys
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.video import fit_to_size

if TYPE_CHECKING:
    import torch

Usage = Literal["required", "optional", "unused"]
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_EXAMPLES = {bool: "true", int: "20", float: "7.5"}


@dataclass(frozen=True)
class EditorOptions:
    """Base of an editor's options; each field is one `--editor-option KEY=VALUE` (or `from_options` keyword)."""


@dataclass(frozen=True)
class EditRequest:
    """What the user asked for, checked against what the editor takes; the mask is already at the frame's size."""

    instruction: str | None = None
    references: tuple[Image.Image, ...] = ()
    mask: Image.Image | None = None  # "L" mode: 255 edits a pixel fully, 0 keeps it
    generator: torch.Generator | None = None


class Editor(ABC):
    """A first-frame editor. Subclasses set the class attributes and implement `apply`.

    Construct with `from_options(**options)`, which checks the pip extra and the option names and types; call
    `edit`; call `release` (or use the editor as a context manager) to free its memory before the next model loads.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "plugin"  # built-ins: "file", "offline" or "diffusers"
    description: ClassVar[str] = ""
    instruction_use: ClassVar[Usage] = "unused"
    instruction_help: ClassVar[str] = "instruction"  # how the inputs column of `anyv2v editors` names it
    reference_count: ClassVar[tuple[int, int]] = (0, 0)  # (fewest, most) reference images
    mask_use: ClassVar[Usage] = "unused"
    weights: ClassVar[tuple[str, ...]] = ()  # hub ids downloaded by default
    extra: ClassVar[str | None] = None  # anyv2v's pip extra that provides `extra_modules`
    extra_modules: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type[EditorOptions]] = EditorOptions

    def __init__(self, options: EditorOptions | None = None):
        self.options = options if options is not None else self.Options()

    @classmethod
    def from_options(cls, **values: Any) -> Editor:
        """Build from option values; strings (as the CLI passes them) are converted to the fields' types."""
        cls.check_extra()
        return cls(parse_options(cls, values))

    @classmethod
    def check_extra(cls) -> None:
        """Fail with the install command, not an ImportError deep inside, when the editor's extra is missing."""
        missing = [module for module in cls.extra_modules if importlib.util.find_spec(module) is None]
        if missing:
            raise AnyV2VError(
                f"editor '{cls.name}' needs the '{cls.extra}' extra (missing {', '.join(missing)}): "
                f"pip install 'anyv2v[{cls.extra}]'"
            )

    @classmethod
    def needs(cls) -> list[str]:
        """What must be fetched or installed before the editor runs, for `anyv2v editors`."""
        needs = [f"weights: {' + '.join(cls.weights)}"] if cls.weights else []
        return needs + ([f"extra: anyv2v[{cls.extra}]"] if cls.extra else [])

    @classmethod
    def inputs(cls) -> list[str]:
        """The inputs it takes beside the frame, for `anyv2v editors`; optional ones in brackets."""
        shown = []
        if cls.instruction_use != "unused":
            shown.append(_bracket(cls.instruction_help, cls.instruction_use == "optional"))
        fewest, most = cls.reference_count
        if most:
            count = "" if most == 1 else f"{most} " if fewest == most else f"{fewest}-{most} "
            shown.append(_bracket(f"{count}reference{'s' if most > 1 else ''}", fewest == 0))
        if cls.mask_use != "unused":
            shown.append(_bracket("mask", cls.mask_use == "optional"))
        return shown

    @classmethod
    def option_names(cls) -> list[str]:
        return [field.name for field in dataclasses.fields(cls.Options)]

    def edit(
        self,
        frame: Image.Image,
        instruction: str | None = None,
        references: Sequence[Image.Image] = (),
        *,
        mask: Image.Image | None = None,
        generator: torch.Generator | None = None,
    ) -> Image.Image:
        """The edited frame, RGB and the size of `frame` whatever size the editor works at."""
        frame = frame.convert("RGB")
        self.check_inputs(instruction, references, mask)
        request = EditRequest(
            instruction=_cleaned(instruction),
            references=tuple(reference.convert("RGB") for reference in references),
            mask=None if mask is None else _frame_mask(mask, frame),
            generator=generator,
        )
        edited = self.apply(frame, request).convert("RGB")
        return edited if edited.size == frame.size else edited.resize(frame.size, Image.Resampling.LANCZOS)

    @abstractmethod
    def apply(self, frame: Image.Image, request: EditRequest) -> Image.Image:
        """Edit an RGB frame; any size may come back, `edit` restores the frame's."""

    def release(self) -> None:
        """Free what the editor holds before the next model loads; subclasses drop their models, then call this."""
        free_device_memory()

    def __enter__(self) -> Editor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    @classmethod
    def check_inputs(cls, instruction: str | None, references: Sequence[object], mask: object | None) -> None:
        """Refuse inputs the editor does not take or lacks; callable before loading any weights."""
        instruction = _cleaned(instruction)
        if cls.instruction_use == "required" and instruction is None:
            raise AnyV2VError(f"editor '{cls.name}' needs an instruction: pass --instruction ({cls.instruction_help})")
        if cls.instruction_use == "unused" and instruction is not None:
            raise AnyV2VError(f"editor '{cls.name}' takes no instruction: drop --instruction")
        fewest, most = cls.reference_count
        if not fewest <= len(references) <= most:
            wanted = f"{fewest}" if fewest == most else f"{fewest} to {most}"
            raise AnyV2VError(
                f"editor '{cls.name}' takes {wanted} reference images, got {len(references)}: "
                f"{'pass --reference IMAGE' if len(references) < fewest else 'drop --reference'}"
            )
        if cls.mask_use == "required" and mask is None:
            raise AnyV2VError(f"editor '{cls.name}' needs a mask: pass --mask IMAGE (white = the region to edit)")
        if cls.mask_use == "unused" and mask is not None:
            raise AnyV2VError(f"editor '{cls.name}' takes no mask: drop --mask")


def parse_options(editor: type[Editor], values: dict[str, Any]) -> EditorOptions:
    """`editor.Options` from `values`, naming the known options when one is unknown or has the wrong type."""
    hints = typing.get_type_hints(editor.Options)
    known = editor.option_names()
    unknown = sorted(set(values) - set(known))
    if unknown:
        offer = f"its options are {', '.join(known)}" if known else "it takes no options"
        raise AnyV2VError(f"editor '{editor.name}' has no option '{unknown[0]}': {offer}")
    return editor.Options(**{name: _coerce(editor.name, name, value, hints[name]) for name, value in values.items()})


def _coerce(editor: str, name: str, value: Any, hint: Any) -> Any:
    """Text from the command line to the field's type (int, float, bool, str, or one of them or None)."""
    if not isinstance(value, str):
        return value
    allowed = _union_members(hint)
    if type(None) in allowed and value.strip().lower() in ("", "none"):
        return None
    target = next(kind for kind in allowed if kind is not type(None))
    try:
        return _to_bool(value) if target is bool else target(value)
    except ValueError:
        example = _EXAMPLES.get(target, "TEXT")
        raise AnyV2VError(
            f"editor '{editor}' option {name}={value!r} is not a valid {target.__name__}: pass e.g. {name}={example}"
        ) from None


def _union_members(hint: Any) -> tuple[Any, ...]:
    is_union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    return typing.get_args(hint) if is_union else (hint,)


def _to_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in _TRUE + _FALSE:
        raise ValueError(value)
    return lowered in _TRUE


def _cleaned(instruction: str | None) -> str | None:
    """Blank instructions count as none."""
    return instruction.strip() if instruction and instruction.strip() else None


def _frame_mask(mask: Image.Image, frame: Image.Image) -> Image.Image:
    """The mask as "L", cover-resized like the frame was, so a mask drawn on the source video lines up."""
    fitted = fit_to_size(mask.convert("L"), (frame.height, frame.width))
    if fitted.getextrema()[1] == 0:
        raise AnyV2VError("the mask is black everywhere, so it selects nothing: paint the region to edit white")
    return fitted


def _bracket(text: str, optional: bool) -> str:
    return f"[{text}]" if optional else text


def free_device_memory() -> None:
    """Return freed model memory to the GPU now, so the next model (the I2V backbone) can have it."""
    gc.collect()
    torch = sys.modules.get("torch")  # no torch loaded, no GPU memory to return
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
