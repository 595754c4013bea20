"""Scenes of simple coloured shapes and the edits the synthetic data makes to them.

A scene is a plain background (a grey with a slight tint) and 2-4 shapes, each a (kind, colour) that occurs once, so
"the red circle" names exactly one shape. Shapes sit in distinct cells of a 3 x 3 grid with a random offset and
size, so they never overlap. Three edits, each with its instruction (:mod:`idiff_editing.templates`):

- **recolour**: one shape takes a colour no shape of its kind has ("turn the red circle blue");
- **remove**: one shape is gone, the background shows through ("remove the green square");
- **add**: a new shape in a free cell ("add a yellow triangle").

:class:`Scene` holds what a caption says (kinds, colours, background); :func:`render` draws it with positions from
a generator, so one scene renders differently per seed, as InstructPix2Pix's generations of one prompt differ.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["COLOURS", "KINDS", "Scene", "Shape", "article", "caption", "layout", "random_scene", "render"]

#: Shape colours by name (sRGB), far apart from each other and from the grey backgrounds.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (240, 215, 40),
    "purple": (150, 60, 190), "orange": (245, 140, 30), "white": (250, 250, 250), "black": (15, 15, 15),
}  # fmt: skip
#: Shape kinds.
KINDS: tuple[str, ...] = ("circle", "square", "triangle")
#: Grid cells of a scene (row, column); each shape takes one.
GRID = 3


@dataclass(frozen=True)
class Shape:
    """A shape of a scene: its kind, its colour name and its grid cell."""

    kind: str
    colour: str
    cell: int


@dataclass(frozen=True)
class Scene:
    """What a caption describes: the shapes and the background (an RGB triple)."""

    shapes: tuple[Shape, ...]
    background: tuple[int, int, int]

    def without(self, index: int) -> Scene:
        return replace(self, shapes=self.shapes[:index] + self.shapes[index + 1 :])

    def recoloured(self, index: int, colour: str) -> Scene:
        shapes = list(self.shapes)
        shapes[index] = replace(shapes[index], colour=colour)
        return replace(self, shapes=tuple(shapes))

    def with_shape(self, shape: Shape) -> Scene:
        return replace(self, shapes=(*self.shapes, shape))

    def free_cells(self) -> list[int]:
        taken = {s.cell for s in self.shapes}
        return [c for c in range(GRID * GRID) if c not in taken]


def article(word: str) -> str:
    """``an`` before a vowel, else ``a``."""
    return "an" if word[:1] in "aeiou" else "a"


def _names(shapes: tuple[Shape, ...]) -> str:
    names = [f"{article(s.colour)} {s.colour} {s.kind}" for s in shapes]
    if len(names) <= 1:
        return "".join(names) or "nothing"
    return ", ".join(names[:-1]) + " and " + names[-1]


def caption(scene: Scene) -> str:
    """The scene in words: "a red circle, a blue square and a yellow triangle on a grey background"."""
    return f"{_names(scene.shapes)} on a grey background"


def random_scene(rng: np.random.Generator, count: int) -> Scene:
    """``count`` distinct (kind, colour) shapes in distinct cells on a tinted grey."""
    combos = [(k, c) for k in KINDS for c in COLOURS]
    picks = rng.choice(len(combos), size=count, replace=False)
    cells = rng.choice(GRID * GRID, size=count, replace=False)
    shapes = tuple(Shape(*combos[int(p)], int(cell)) for p, cell in zip(picks, cells, strict=True))
    grey = int(rng.integers(100, 161))
    tint = rng.integers(-12, 13, 3)
    return Scene(shapes, tuple(int(v) for v in np.clip(grey + tint, 0, 255)))


def layout(scene: Scene, rng: np.random.Generator) -> dict[int, tuple[float, float, float]]:
    """(centre x, centre y, radius) of each grid cell, as fractions of the side: a random place inside the cell."""
    out = {}
    for cell in range(GRID * GRID):
        radius = float(rng.uniform(0.09, 0.14))
        row, col = divmod(cell, GRID)
        slack = 0.5 / GRID - radius
        cx = (col + 0.5) / GRID + float(rng.uniform(-slack, slack))
        cy = (row + 0.5) / GRID + float(rng.uniform(-slack, slack))
        out[cell] = (cx, cy, radius)
    return out


def render(scene: Scene, places: dict[int, tuple[float, float, float]], size: int) -> np.ndarray:
    """uint8 (size, size, 3) drawing of ``scene`` with the cell positions ``places`` (see :func:`layout`)."""
    image = Image.new("RGB", (size, size), scene.background)
    draw = ImageDraw.Draw(image)
    for shape in scene.shapes:
        cx, cy, r = (v * size for v in places[shape.cell])
        fill = COLOURS[shape.colour]
        if shape.kind == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif shape.kind == "square":
            side = r * 0.85
            draw.rectangle([cx - side, cy - side, cx + side, cy + side], fill=fill)
        else:
            draw.polygon([(cx, cy - r), (cx + r * 0.87, cy + r * 0.5), (cx - r * 0.87, cy + r * 0.5)], fill=fill)
    return np.asarray(image, dtype=np.uint8)
