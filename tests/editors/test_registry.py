from __future__ import annotations

import sys
from pathlib import Path

import pytest

from anyv2v.editors import BUILTIN_EDITORS, Editor, create_editor, get_editor, list_editors
from anyv2v.errors import AnyV2VError
from tests.editors.throwaway_plugin import install_plugin


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    module = "anyv2v_negative_plugin"
    install_plugin(tmp_path, monkeypatch, module, {
        "negative": f"{module}:Negative",
        "broken": "anyv2v_no_such_module:Editor",
        "mislabelled": f"{module}:Mislabelled",
        "not-an-editor": f"{module}:NotAnEditor",
    })  # fmt: skip
    yield module
    sys.modules.pop(module, None)


def test_every_builtin_loads_under_its_own_name():
    for name in BUILTIN_EDITORS:
        editor = get_editor(name)
        assert issubclass(editor, Editor) and editor.name == name
        assert editor.description and editor.kind in ("file", "offline", "diffusers")


def test_unknown_names_list_the_known_ones():
    with pytest.raises(AnyV2VError, match="unknown editor 'pix2pix': use one of frame, recolor, .*instruct-pix2pix"):
        get_editor("pix2pix")


def test_a_plugin_registered_through_entry_points_is_found_listed_and_runs(plugin, frame):
    editor = get_editor("negative")
    assert editor.__module__ == plugin
    edited = create_editor("negative").edit(frame)
    assert edited.getpixel((0, 0)) == tuple(255 - value for value in frame.getpixel((0, 0)))
    entries = {entry.name: entry for entry in list_editors()}
    assert list(entries)[: len(BUILTIN_EDITORS)] == list(BUILTIN_EDITORS)
    assert entries["negative"].editor is editor and entries["negative"].origin == "anyv2v-negative-plugin"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken", r"plugin editor 'broken' \(anyv2v_no_such_module:Editor\) failed to load \(No module named"),
        ("mislabelled", "is named 'other-name' in its class: make its `name` match the entry point"),
        ("not-an-editor", "is not an anyv2v.editors.Editor subclass"),
    ],
)
def test_broken_plugins_are_listed_with_their_error_and_refused_by_name(plugin, name, message):
    with pytest.raises(AnyV2VError, match=message):
        get_editor(name)
    entry = next(entry for entry in list_editors() if entry.name == name)
    assert entry.editor is None and "\n" not in entry.error


def test_a_plugin_cannot_take_a_builtin_name(tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch, "anyv2v_shadow_plugin", {"recolor": "anyv2v_shadow_plugin:Negative"})
    with pytest.warns(UserWarning, match="ignoring plugin editor 'recolor'"):
        entries = list_editors()
    assert [entry.name for entry in entries].count("recolor") == 1
    assert get_editor("recolor").__module__ == "anyv2v.editors.recolor"
