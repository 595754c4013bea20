"""The detection encoder: every object of one category gets a semi-transparent mark in one colour.

PAPER.md "Encodings" -> Detection: the paper asks for "a segmentation-like mark" and reads each box from the marked
region. The mark is the segmentation encoding of the public code: inside the region the target is
``0.5 * pixel + 0.5 * colour`` (transparency 0.5), outside it is the source, in one of the 8 segmentation colours.
The region is each object's pixels (``mark="mask"``) or its box (``mark="box"``); objects must not touch for their
boxes to come back apart (:mod:`idiff_detection.boxes` reads connected regions).

Images are resized to the run's square resolution as a whole (aspect ratio not kept, nothing cropped), so a box read
at that resolution maps back to the image by scaling; regions are resized as coverage (bilinear on 0/1, >= 0.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from idiff_detection.templates import build_instruction, templates_for

__all__ = [
    "COLOURS",
    "DEFAULT_ALPHA",
    "EncodedDetection",
    "colour_value",
    "encode_detection",
    "far_colour",
    "paint_mark",
    "to_square",
    "to_square_mask",
]

#: The segmentation colours of the public code, in its order.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0), "purple": (128, 0, 128), "blue": (0, 0, 255), "green": (0, 128, 0),
    "yellow": (255, 255, 0), "white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128),
}

#: Weight of the colour inside the mark (the paper's transparency 0.5).
DEFAULT_ALPHA = 0.5


def colour_value(name: str) -> np.ndarray:
    """RGB of a colour name as float32 (3,); ``ValueError`` lists the known names."""
    if name not in COLOURS:
        raise ValueError(f"unknown colour {name!r}; known: {', '.join(COLOURS)}")
    return np.asarray(COLOURS[name], dtype=np.float32)


def to_square(image: np.ndarray, side: int) -> np.ndarray:
    """A uint8 (H, W, 3) image resized (bicubic) to ``side x side``; unchanged when it already is."""
    if image.shape[:2] == (side, side):
        return np.asarray(image, dtype=np.uint8)
    resized = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8)


def to_square_mask(mask: np.ndarray, side: int) -> np.ndarray:
    """A boolean (H, W) region resized to ``side x side`` as coverage >= 0.5."""
    if mask.shape == (side, side):
        return np.asarray(mask, dtype=bool)
    coverage = Image.fromarray(np.asarray(mask, dtype=np.float32)).resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(coverage) >= 0.5


def paint_mark(image: np.ndarray, region: np.ndarray, colour: str, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """``pixel + alpha * (colour - pixel)`` inside ``region`` (rounded), the pixel elsewhere; a new uint8 image."""
    out = np.asarray(image, dtype=np.float32).copy()
    out[region] += alpha * (colour_value(colour) - out[region])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def far_colour(image: np.ndarray, region: np.ndarray, rng: np.random.Generator, among: int = 3) -> str:
    """One of the ``among`` colours farthest (mean RGB distance) from the region's pixels, drawn at random.

    Where an object already has the mark's colour the mark changes nothing and no decoder can see it, so test
    requests use a colour that stands out (the whole image stands in for an empty region).
    """
    pixels = (image[region] if region.any() else image.reshape(-1, 3)).astype(np.float32)
    names = list(COLOURS)
    mean_distance = [float(np.linalg.norm(pixels - colour_value(n), axis=1).mean()) for n in names]
    order = np.argsort(mean_distance, kind="stable")[::-1][:among]
    return names[int(rng.choice(order))]


@dataclass(frozen=True)
class EncodedDetection:
    """Result of :func:`encode_detection`: the target image, the instruction, the colour and template used."""

    target: np.ndarray
    instruction: str
    colour: str
    template: int


def encode_detection(
    image: np.ndarray,
    regions: Sequence[np.ndarray],
    category: str,
    rng: np.random.Generator,
    mark: str = "mask",
    colour: str | None = None,
    template: int | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> EncodedDetection:
    """Mark every region (one per object of ``category``) in one colour and say so in an instruction.

    Args:
        image: source, uint8 (H, W, 3).
        regions: boolean (H, W) pixels of each object (mask or box); none: the target is the source.
        category: the category name for ``{object}``.
        rng: draws the colour and template when they are not given.
        mark: ``"mask"`` or ``"box"``: which templates (the regions are the caller's).
        colour: colour name; ``None`` = uniform over :data:`COLOURS`.
        template: template index; ``None`` = random.
        alpha: weight of the colour in the mark.
    """
    names = list(COLOURS)
    colour = names[int(rng.integers(len(names)))] if colour is None else colour
    template = int(rng.integers(len(templates_for(mark)))) if template is None else template
    union = np.zeros(image.shape[:2], dtype=bool)
    for region in regions:
        union |= region
    target = paint_mark(image, union, colour, alpha)
    return EncodedDetection(target, build_instruction(mark, category, colour, template), colour, template)
