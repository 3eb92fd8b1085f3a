from __future__ import annotations

from dataclasses import dataclass

import pytest
from PIL import Image

from anyv2v.editors import Editor, EditorOptions, EditRequest
from anyv2v.errors import AnyV2VError


@dataclass(frozen=True)
class EchoOptions(EditorOptions):
    scale: float = 0.5
    steps: int = 2
    strict: bool = False
    label: str | None = None


class EchoEditor(Editor):
    """Returns the frame at `scale` times its size, recording what it was given."""

    name = "echo"
    instruction_use = "optional"
    reference_count = (0, 2)
    mask_use = "optional"
    Options = EchoOptions

    def apply(self, frame: Image.Image, request: EditRequest) -> Image.Image:
        self.request = request
        return frame.resize(
            (max(1, int(frame.width * self.options.scale)), max(1, int(frame.height * self.options.scale)))
        )


def test_command_line_strings_become_the_option_types():
    editor = EchoEditor.from_options(scale="0.25", steps="3", strict="yes", label="none")
    assert editor.options == EchoOptions(scale=0.25, steps=3, strict=True, label=None)
    assert EchoEditor.from_options(label="kept").options.label == "kept"
    assert EchoEditor.from_options(steps=7).options.steps == 7  # Python values pass as they are


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stpes": "3"}, "editor 'echo' has no option 'stpes': its options are scale, steps, strict, label"),
        ({"steps": "many"}, "option steps='many' is not a valid int: pass e.g. steps=20"),
        ({"strict": "maybe"}, "option strict='maybe' is not a valid bool: pass e.g. strict=true"),
    ],
)
def test_bad_options_name_the_fix(options, message):
    with pytest.raises(AnyV2VError, match=message.replace("(", r"\(")):
        EchoEditor.from_options(**options)


def test_editors_without_options_say_so():
    class Plain(EchoEditor):
        name = "plain"
        Options = EditorOptions

    with pytest.raises(AnyV2VError, match="has no option 'x': it takes no options"):
        Plain.from_options(x="1")


def test_edit_returns_rgb_at_the_frame_size_whatever_the_editor_returns(frame):
    editor = EchoEditor.from_options(scale=0.5)
    edited = editor.edit(frame.convert("RGBA"), "  ", [frame.convert("L")], mask=Image.new("L", (8, 8), 255))
    assert edited.size == frame.size and edited.mode == "RGB"
    assert editor.request.instruction is None  # blank instructions count as none
    assert editor.request.references[0].mode == "RGB"
    assert editor.request.mask.size == frame.size and editor.request.mask.mode == "L"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"instruction_use": "required"}, "editor 'echo' needs an instruction: pass --instruction"),
        ({"instruction_use": "unused", "instruction": "x"}, "takes no instruction: drop --instruction"),
        ({"reference_count": (1, 1)}, "takes 1 reference images, got 0: pass --reference IMAGE"),
        ({"reference_count": (0, 0), "references": 1}, "takes 0 reference images, got 1: drop --reference"),
        ({"references": 3}, "takes 0 to 2 reference images, got 3"),
        ({"mask_use": "required"}, "needs a mask: pass --mask IMAGE"),
        ({"mask_use": "unused", "mask": 255}, "takes no mask: drop --mask"),
        ({"mask": 0}, "the mask is black everywhere"),
    ],
)
def test_inputs_the_editor_does_not_take_or_lacks_are_one_line_errors(frame, change, message):
    attributes = {key: value for key, value in change.items() if key.endswith(("_use", "_count"))}
    editor = type("Echo", (EchoEditor,), attributes)()
    mask = Image.new("L", frame.size, change["mask"]) if "mask" in change else None
    with pytest.raises(AnyV2VError, match=message) as error:
        editor.edit(frame, change.get("instruction"), [frame] * change.get("references", 0), mask=mask)
    assert "\n" not in str(error.value)


def test_inputs_and_needs_describe_the_editor_for_the_listing():
    class Described(EchoEditor):
        instruction_use = "required"
        reference_count = (1, 1)
        mask_use = "unused"
        weights = ("org/model", "org/adapter")
        extra = "fancy"

    assert EchoEditor.inputs() == ["[instruction]", "[0-2 references]", "[mask]"]
    assert EchoEditor.needs() == []
    assert Described.inputs() == ["instruction", "reference"]
    assert Described.needs() == ["weights: org/model + org/adapter", "extra: anyv2v[fancy]"]


def test_a_missing_extra_gives_the_install_command():
    class NeedsExtra(EchoEditor):
        name = "needs-extra"
        extra = "fancy"
        extra_modules = ("json", "no_such_module_for_anyv2v")

    with pytest.raises(AnyV2VError, match=r"editor 'needs-extra' needs the 'fancy' extra \(missing "
                       r"no_such_module_for_anyv2v\): pip install 'anyv2v\[fancy\]'"):  # fmt: skip
        NeedsExtra.from_options()


def test_the_context_manager_releases_the_editor(frame):
    class Tracked(EchoEditor):
        released = 0

        def release(self) -> None:
            type(self).released += 1
            super().release()

    with Tracked() as editor:
        editor.edit(frame)
    assert Tracked.released == 1
