from __future__ import annotations

import numpy as np
import pytest

from anyv2v.errors import AnyV2VError
from anyv2v.toy.world import (
    EDITS,
    FIRST_WORLD,
    HELDOUT_SEEDS,
    WORLD_FILE,
    World,
    clip_pair,
    edit_scene,
    random_scene,
    render,
    shape_masks,
)

SEEDS = [HELDOUT_SEEDS.start + i for i in range(6)]


def test_rendering_is_deterministic_per_seed():
    assert (render(random_scene(7, 32)) == render(random_scene(7, 32))).all()
    assert (render(random_scene(7, 32)) != render(random_scene(8, 32))).any()


@pytest.mark.parametrize("seed", SEEDS)
def test_background_edits_keep_every_object_pixel(seed):
    scene = random_scene(seed, 32)
    source, edited = render(scene), render(edit_scene(scene, "background", seed))
    for t in range(scene.num_frames):
        solid = shape_masks(scene, t).sum(axis=0) >= 1.0  # pixels fully covered by objects
        assert (source[t][solid] == edited[t][solid]).all()
        assert (source[t][~solid] != edited[t][~solid]).any()


@pytest.mark.parametrize("edit", ["recolor", "restyle"])
@pytest.mark.parametrize("seed", SEEDS)
def test_object_edits_change_only_the_objects_pixels(seed, edit):
    scene = random_scene(seed, 32)
    source, edited = render(scene), render(edit_scene(scene, edit, seed))
    for t in range(scene.num_frames):
        touched = shape_masks(scene, t)[0 if edit == "recolor" else slice(None)]
        touched = touched if touched.ndim == 2 else touched.sum(axis=0)
        assert (source[t][touched == 0] == edited[t][touched == 0]).all()
    assert (source != edited).any()


@pytest.mark.parametrize("seed", SEEDS)
def test_reshape_keeps_the_motion_of_every_object(seed):
    scene = random_scene(seed, 32)
    twin = edit_scene(scene, "reshape", seed)
    assert twin.shapes[0].kind != scene.shapes[0].kind
    for t in range(scene.num_frames):
        assert np.allclose(_centroids(scene, t)[1:], _centroids(twin, t)[1:])
    source, edited = render(scene), render(twin)
    untouched = (shape_masks(scene, 0)[0] == 0) & (shape_masks(twin, 0)[0] == 0)
    assert (source[0][untouched] == edited[0][untouched]).all()


def test_every_edit_gives_a_different_twin_of_the_same_length():
    for edit in EDITS:
        source, edited = clip_pair(SEEDS[0], edit, size=32, num_frames=5)
        assert source.shape == edited.shape == (5, 32, 32, 3)
        assert (source != edited).any()


def test_object_sizes_follow_the_world_and_the_same_seed_keeps_its_layout():
    larger = World((0.15, 0.3))
    for seed in SEEDS:
        first, scaled = random_scene(seed, 32), random_scene(seed, 32, world=larger)
        assert all(0.1 * 32 <= shape.radius <= 0.2 * 32 for shape in first.shapes)
        assert all(0.15 * 32 <= shape.radius <= 0.3 * 32 for shape in scaled.shapes)
        assert [shape.kind for shape in first.shapes] == [shape.kind for shape in scaled.shapes]
    assert random_scene(SEEDS[0], 32) == random_scene(SEEDS[0], 32, world=World((0.1, 0.2)))


def test_a_model_names_its_world_in_its_folder_and_one_without_is_scored_on_the_first(tmp_path):
    from anyv2v.toy.shipped import shipped_model

    shipped = shipped_model("i2vgen-xl")
    assert (shipped / WORLD_FILE).is_file() and World.of_model(shipped) == World((0.15, 0.3))
    assert World.of_model(tmp_path) == World.of_model(None) == World.of_model("ali-vilab/i2vgen-xl") == FIRST_WORLD
    World((0.15, 0.3)).save(tmp_path)
    assert World.of_model(str(tmp_path)) == World((0.15, 0.3))
    assert World((0.15, 0.3)).tag == "objects-0.15-0.3" != FIRST_WORLD.tag


def test_a_broken_world_is_refused_in_one_line_naming_the_fix(tmp_path):
    with pytest.raises(AnyV2VError, match=r"object radius range 0.3-0.15 .* use e.g. 0.15 0.3"):
        World((0.3, 0.15))
    (tmp_path / WORLD_FILE).write_text('{"object_size": [0.1, 0.2]}')
    with pytest.raises(AnyV2VError, match=r"world.json' is not a world description .*: retrain, or delete the file"):
        World.of_model(tmp_path)


def _centroids(scene, t):
    masks = shape_masks(scene, t)
    ys, xs = np.mgrid[: scene.size, : scene.size]
    area = masks.sum(axis=(1, 2)) + 1e-9
    return np.stack([(masks * xs).sum(axis=(1, 2)) / area, (masks * ys).sum(axis=(1, 2)) / area], axis=1)
