from __future__ import annotations

from PIL import Image

from anyv2v.toy.world import World
from anyv2v.ui.examples import example_files


def test_the_examples_come_from_the_world_of_the_pages_model_each_world_in_its_own_folder(tmp_path):
    first, larger = example_files(tmp_path), example_files(tmp_path, World((0.15, 0.3)))
    assert [example.video.parent.name for example in first] == ["objects-0.1-0.2"] * 3
    assert [example.video.parent.name for example in larger] == ["objects-0.15-0.3"] * 3
    for mine, other in zip(first, larger, strict=True):
        assert mine.video.name == other.video.name and mine.video.is_file() and other.video.is_file()
        assert Image.open(mine.edited_frame).tobytes() != Image.open(other.edited_frame).tobytes()
