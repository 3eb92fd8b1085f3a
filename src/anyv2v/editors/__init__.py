"""First-frame editors: anything that turns the source's first frame into the edited first frame.

`get_editor(name)` / `create_editor(name, **options)` find built-ins and third-party editors registered in the
`anyv2v.editors` entry-point group; `list_editors()` lists them all.
"""

from anyv2v.editors.base import Editor, EditorOptions, EditRequest, free_device_memory
from anyv2v.editors.registry import (
    BUILTIN_EDITORS,
    ENTRY_POINT_GROUP,
    EditorEntry,
    create_editor,
    get_editor,
    list_editors,
)

__all__ = [
    "BUILTIN_EDITORS",
    "ENTRY_POINT_GROUP",
    "EditRequest",
    "Editor",
    "EditorEntry",
    "EditorOptions",
    "create_editor",
    "free_device_memory",
    "get_editor",
    "list_editors",
]
