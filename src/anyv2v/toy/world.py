"""A synthetic video world where the right edit is known exactly.

Each clip is a few shapes moving, bouncing, pulsing and occluding each other over a patterned background,
sometimes under a camera pan. An edit changes appearance only (an object's colour or shape, the background,
the texture of the objects), never motion, so rendering the edited scene gives the ground truth that AnyV2V
should produce, and its first frame is what a perfect image editor would return.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from anyv2v.errors import AnyV2VError

KINDS = ("circle", "square", "triangle", "stripes")
EDITS = ("recolor", "background", "restyle", "reshape")
HELDOUT_SEEDS = range(1_000_000, 1_000_100)  # never drawn for training
# What `anyv2v demo` shows by default: an edit the shipped model carries (docs/bench/main/bench.json), so a first
# look shows AnyV2V working; every other clip and edit is one flag away.
DEMO_EDIT, DEMO_CLIP = "recolor", 0
SUPERSAMPLE = 2  # anti-aliased edges: each pixel averages SUPERSAMPLE**2 samples


WORLD_FILE = "world.json"  # in a toy model's folder: the world it was trained on, and so is scored on


@dataclass(frozen=True)
class World:
    """What varies between versions of the world. A toy model is only a fair instrument on the world it was
    trained on, so its folder names it (`WORLD_FILE`); a model without one is scored on the first world."""

    object_radius: tuple[float, float] = (0.1, 0.2)  # range of an object's radius, as a share of the frame size

    def __post_init__(self) -> None:
        low, high = self.object_radius
        if not 0 < low <= high <= 0.5:
            raise AnyV2VError(
                f"object radius range {low}-{high} is not within (0, 0.5] and increasing: use e.g. 0.15 0.3"
            )

    @property
    def tag(self) -> str:
        """A short name for file names: the same world always gives the same tag."""
        return "objects-{:g}-{:g}".format(*self.object_radius)

    def save(self, folder: Path) -> None:
        (folder / WORLD_FILE).write_text(json.dumps({"object_radius": list(self.object_radius)}, indent=2) + "\n")

    @classmethod
    def of_model(cls, model: str | Path | None) -> World:
        """The world a model was trained on: its folder's `WORLD_FILE`, else (a hub id, no model) the first."""
        path = Path(model or "") / WORLD_FILE
        if not model or not path.is_file():
            return FIRST_WORLD
        try:
            return cls(**{name: tuple(value) for name, value in json.loads(path.read_text()).items()})
        except (ValueError, TypeError) as error:
            raise AnyV2VError(f"'{path}' is not a world description ({error}): retrain, or delete the file") from None


FIRST_WORLD = World()  # the shipped toy model's


@dataclass(frozen=True)
class Shape:
    kind: str
    color: tuple[float, float, float]  # RGB in [0, 1]
    radius: float  # in pixels at frame size
    start: tuple[float, float]  # centre (x, y) at frame 0
    velocity: tuple[float, float]  # pixels per frame; the shape bounces off the frame's edges
    pulse: float  # relative size change amplitude
    textured: bool = False


@dataclass(frozen=True)
class Background:
    colors: tuple[tuple[float, float, float], tuple[float, float, float]]
    angle: float  # direction of the colour gradient
    stripe_period: float  # pixels; broad stripes make a camera pan visible
    stripe_strength: float


@dataclass(frozen=True)
class Scene:
    size: int
    num_frames: int
    background: Background
    shapes: tuple[Shape, ...]  # later shapes are drawn over earlier ones
    pan: tuple[float, float]  # camera motion in pixels per frame


def random_scene(seed: int, size: int = 64, num_frames: int = 8, world: World = FIRST_WORLD) -> Scene:
    rng = np.random.default_rng(seed)
    shapes = tuple(_random_shape(rng, size, world) for _ in range(rng.integers(1, 4)))
    pan = tuple(rng.uniform(-1.5, 1.5, 2)) if rng.random() < 0.3 else (0.0, 0.0)
    return Scene(size, num_frames, _random_background(rng, size), shapes, pan)


def edit_scene(scene: Scene, edit: str, seed: int) -> Scene:
    """The same scene and motion with one change of appearance."""
    rng = np.random.default_rng([seed, EDITS.index(edit)])
    first, *rest = scene.shapes
    if edit == "recolor":
        first = dataclasses.replace(first, color=_distinct_color(rng, first.color))
    elif edit == "reshape":
        first = dataclasses.replace(first, kind=str(rng.choice([k for k in KINDS if k != first.kind])))
    elif edit == "background":
        return dataclasses.replace(scene, background=_random_background(rng, scene.size, avoid=scene.background))
    elif edit == "restyle":
        return dataclasses.replace(scene, shapes=tuple(dataclasses.replace(s, textured=True) for s in scene.shapes))
    else:
        raise ValueError(f"unknown edit {edit!r}: use one of {', '.join(EDITS)}")
    return dataclasses.replace(scene, shapes=(first, *rest))


def render(scene: Scene) -> np.ndarray:
    """Frames as uint8 (frames, size, size, 3)."""
    return np.stack([render_frame(scene, t) for t in range(scene.num_frames)])


def shape_masks(scene: Scene, t: int) -> np.ndarray:
    """Visible coverage of each shape at frame t, (shapes, size, size) in [0, 1], occlusion applied."""
    ys, xs = _sample_grid(scene.size)
    visible = []
    remaining = np.ones_like(xs)
    for shape in reversed(scene.shapes):
        coverage, _ = _placed(shape, scene, t, xs, ys)
        visible.append(coverage * remaining)
        remaining = remaining * (1 - coverage)
    return np.stack([_downsample(v) for v in reversed(visible)])


def clip_pair(
    seed: int, edit: str, size: int = 64, num_frames: int = 8, world: World = FIRST_WORLD
) -> tuple[np.ndarray, np.ndarray]:
    """(source, ground-truth edited) clips of the scene drawn from `seed`."""
    scene = random_scene(seed, size, num_frames, world)
    return render(scene), render(edit_scene(scene, edit, seed))


def to_images(frames: np.ndarray) -> list[Image.Image]:
    return [Image.fromarray(frame) for frame in frames]


def _random_shape(rng: np.random.Generator, size: int, world: World) -> Shape:
    radius = float(rng.uniform(*world.object_radius) * size)
    return Shape(
        kind=str(rng.choice(KINDS)),
        color=_random_color(rng),
        radius=radius,
        start=tuple(rng.uniform(radius, size - radius, 2)),
        velocity=tuple(rng.uniform(-3.0, 3.0, 2) * size / 64),
        pulse=float(rng.uniform(0.0, 0.25)) if rng.random() < 0.4 else 0.0,
    )


def _random_background(rng: np.random.Generator, size: int, avoid: Background | None = None) -> Background:
    first = _random_color(rng, dark=True) if avoid is None else _distinct_color(rng, avoid.colors[0], dark=True)
    return Background(
        colors=(first, _random_color(rng, dark=True)),
        angle=float(rng.uniform(0, 2 * np.pi)),
        stripe_period=float(rng.uniform(0.35, 0.7) * size),
        stripe_strength=float(rng.uniform(0.03, 0.12)),
    )


def _random_color(rng: np.random.Generator, dark: bool = False) -> tuple[float, float, float]:
    low, high = (0.05, 0.5) if dark else (0.3, 1.0)
    return tuple(float(c) for c in rng.uniform(low, high, 3))


def _distinct_color(rng: np.random.Generator, old: tuple, dark: bool = False) -> tuple[float, float, float]:
    """A colour far enough from `old` that the edit is unmistakable."""
    while True:
        color = _random_color(rng, dark)
        if np.abs(np.subtract(color, old)).sum() > 0.6:
            return color


def render_frame(scene: Scene, t: int) -> np.ndarray:
    """Frame t alone, as uint8 (size, size, 3)."""
    ys, xs = _sample_grid(scene.size)
    image = _background(scene.background, xs + scene.pan[0] * t, ys + scene.pan[1] * t)
    for shape in scene.shapes:
        coverage, fill = _placed(shape, scene, t, xs, ys)
        image = image * (1 - coverage[..., None]) + fill * coverage[..., None]
    return (np.clip(_downsample(image), 0, 1) * 255).round().astype(np.uint8)


def _sample_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    coords = (np.arange(size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    return np.meshgrid(coords, coords, indexing="ij")


def _downsample(samples: np.ndarray) -> np.ndarray:
    h, w = samples.shape[0] // SUPERSAMPLE, samples.shape[1] // SUPERSAMPLE
    return samples.reshape(h, SUPERSAMPLE, w, SUPERSAMPLE, *samples.shape[2:]).mean(axis=(1, 3))


def _background(background: Background, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    size = xs.shape[0] / SUPERSAMPLE
    direction = np.cos(background.angle) * xs + np.sin(background.angle) * ys
    mix = np.clip(direction / size * 0.5 + 0.5, 0, 1)[..., None]
    first, second = (np.array(c) for c in background.colors)
    stripes = np.sin(2 * np.pi * (xs + 0.5 * ys) / background.stripe_period)[..., None]
    return first * (1 - mix) + second * mix + background.stripe_strength * stripes


def _centre_and_radius(shape: Shape, scene: Scene, t: int) -> tuple[float, float, float]:
    radius = shape.radius * (1 + shape.pulse * np.sin(0.8 * t))
    x = _bounce(shape.start[0] + shape.velocity[0] * t, shape.radius, scene.size - shape.radius)
    y = _bounce(shape.start[1] + shape.velocity[1] * t, shape.radius, scene.size - shape.radius)
    return x - scene.pan[0] * t, y - scene.pan[1] * t, radius


def _bounce(position: float, low: float, high: float) -> float:
    """Reflect a straight-line position back into [low, high], as a ball bouncing off walls."""
    span = high - low
    phase = (position - low) % (2 * span)
    return low + (phase if phase <= span else 2 * span - phase)


def _placed(shape: Shape, scene: Scene, t: int, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coverage and colour of a shape at frame t; its texture moves with it."""
    cx, cy, r = _centre_and_radius(shape, scene, t)
    dx, dy = xs - cx, ys - cy
    return _coverage(shape.kind, dx, dy, r), _fill(shape, dx, dy)


def _coverage(kind: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    if kind == "circle":
        inside = dx**2 + dy**2 <= r**2
    elif kind in ("square", "stripes"):
        inside = (np.abs(dx) <= r * 0.85) & (np.abs(dy) <= r * 0.85)
    elif kind == "triangle":
        inside = (dy <= r * 0.7) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    else:
        raise ValueError(f"unknown shape kind {kind!r}")
    return inside.astype(np.float64)


def _fill(shape: Shape, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Colour inside a shape, from offsets to its centre."""
    color = np.broadcast_to(np.array(shape.color), (*dx.shape, 3))
    # Patterns scale with the shape, at any frame size. The checker is the finest detail an edit asks for: at
    # 32 pixels the toy's 4x VAE kept 0.59 of it and its 2x VAE 0.77 (README, the toy model).
    if shape.kind == "stripes":
        band = (np.floor(dx / (0.6 * shape.radius)) % 2)[..., None]
        color = color * (1 - band) + color * 0.45 * band
    if shape.textured:
        cell = 0.7 * shape.radius
        checker = ((np.floor(dx / cell) + np.floor(dy / cell)) % 2)[..., None]
        color = color * (1 - checker) + (1 - color) * checker
    return color
