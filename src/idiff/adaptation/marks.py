"""Random marks for pretraining adaptation: circles and colour patches, and the caption suffixes that name them.

Stage 1 of InstructDiffusion (PAPER.md "Model and training") fine-tunes text-to-image SD on images that carry
circles or masks placed at random (no ground truth needed), with the caption extended by a suffix such as
"surrounded with a red circle" or "with a few different color patches here and there", so that the model has
learnt to draw what the task encodings draw before it learns to edit. The paper gives the suffixes, not the shapes;
here a *circle* is a ring in one of the keypoint encoding's 9 colours, and *patches* are 2-5 ellipses or rectangles
blended at the segmentation encoding's transparency 0.5 in distinct colours of its 8 (both palettes from PAPER.md
"Encodings").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from idiff.errors import ConfigError

__all__ = [
    "CIRCLE_COLOURS",
    "MARK_KINDS",
    "PATCHES_SUFFIX",
    "PATCH_COLOURS",
    "MarkedImage",
    "circle_suffix",
    "draw_circle",
    "draw_patches",
    "mark_image",
    "validate_mark_probabilities",
]

#: The keypoint encoding's 9 colours (public code).
CIRCLE_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
    "cyan": (0, 255, 255), "magenta": (255, 0, 255), "gray": (128, 128, 128), "white": (255, 255, 255),
    "black": (0, 0, 0),
}
#: The segmentation encoding's 8 colours (public code).
PATCH_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0), "purple": (128, 0, 128), "blue": (0, 0, 255), "green": (0, 128, 0),
    "yellow": (255, 255, 0), "white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128),
}
PATCHES_SUFFIX = "with a few different color patches here and there"
MARK_KINDS = ("circle", "patches", "none")


def circle_suffix(colour: str) -> str:
    """The caption suffix of an image with a ``colour`` circle."""
    return f"surrounded with a {colour} circle"


@dataclass
class MarkedImage:
    """An image with its marks drawn, and the caption suffix naming them ("" when unmarked)."""

    image: np.ndarray
    kind: str
    suffix: str

    def caption(self, caption: str) -> str:
        """``caption`` extended with the suffix: "a dog on the grass, surrounded with a red circle"."""
        caption = caption.strip().rstrip(".").strip()
        return f"{caption}, {self.suffix}" if self.suffix else caption


def validate_mark_probabilities(marks: Mapping[str, float]) -> dict[str, float]:
    """``stage.marks`` as probabilities of circle / patches / none; keys and values checked, normalised."""
    unknown = set(marks) - set(MARK_KINDS)
    if unknown:
        raise ConfigError(f"stage.marks: unknown kind(s) {sorted(unknown)}; allowed: {', '.join(MARK_KINDS)}")
    weights = {kind: float(marks.get(kind, 0.0)) for kind in MARK_KINDS}
    if min(weights.values()) < 0 or sum(weights.values()) <= 0:
        raise ConfigError(f"stage.marks: weights must be >= 0 with a positive sum, got {weights}")
    total = sum(weights.values())
    return {kind: weight / total for kind, weight in weights.items()}


def draw_circle(
    image: np.ndarray, center: tuple[float, float], radius: float, thickness: float, colour: tuple[int, int, int]
) -> np.ndarray:
    """A ring ``|dist - radius| <= thickness / 2`` around ``center`` (x, y) in ``colour``; ``image`` is not modified."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    distance = np.hypot(xs - center[0], ys - center[1])
    out = image.copy()
    out[np.abs(distance - radius) <= thickness / 2] = colour
    return out


def draw_patches(
    image: np.ndarray, boxes: np.ndarray, ellipse: np.ndarray, colours: list[tuple[int, int, int]], alpha: float = 0.5
) -> np.ndarray:
    """Blend each patch (box ``x0 y0 x1 y1``; an ellipse inscribed in it, or the box) at ``alpha`` in its colour."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    out = image.astype(np.float32)
    for (x0, y0, x1, y1), round_, colour in zip(boxes, ellipse, colours, strict=True):
        if round_:
            cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 0.5), max((y1 - y0) / 2, 0.5)
            inside = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1
        else:
            inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
        out[inside] = (1 - alpha) * out[inside] + alpha * np.asarray(colour, np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def mark_image(image: np.ndarray, probabilities: Mapping[str, float], rng: np.random.Generator) -> MarkedImage:
    """Draw a random circle, random patches or nothing on a uint8 (H, W, 3) image.

    Sizes are fractions of the image side, so the marks look alike at any resolution: a ring of radius 10-30% and
    thickness 2.5% (at least 1 px); 2-5 patches with sides of 10-35%.
    """
    kind = str(rng.choice(MARK_KINDS, p=[probabilities[k] for k in MARK_KINDS]))
    side = min(image.shape[:2])
    match kind:
        case "circle":
            name = str(rng.choice(list(CIRCLE_COLOURS)))
            radius = rng.uniform(0.10, 0.30) * side
            center = (rng.uniform(radius, image.shape[1] - radius), rng.uniform(radius, image.shape[0] - radius))
            marked = draw_circle(image, center, radius, max(1.0, 0.025 * side), CIRCLE_COLOURS[name])
            return MarkedImage(marked, kind, circle_suffix(name))
        case "patches":
            count = int(rng.integers(2, 6))
            names = rng.choice(list(PATCH_COLOURS), size=count, replace=False)
            sizes = rng.uniform(0.10, 0.35, size=(count, 2)) * side
            x0 = rng.uniform(0, image.shape[1] - sizes[:, 0])
            y0 = rng.uniform(0, image.shape[0] - sizes[:, 1])
            boxes = np.stack([x0, y0, x0 + sizes[:, 0], y0 + sizes[:, 1]], 1)
            marked = draw_patches(image, boxes, rng.random(count) < 0.5, [PATCH_COLOURS[str(n)] for n in names])
            return MarkedImage(marked, kind, PATCHES_SUFFIX)
        case _:
            return MarkedImage(image.copy(), kind, "")
