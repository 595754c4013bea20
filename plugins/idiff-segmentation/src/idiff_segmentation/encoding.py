"""The segmentation encoder: "mark the pixels in a colour" (PAPER.md "Encodings" -> Segmentation).

Public-code convention: inside the mask the target is ``0.5 * pixel + 0.5 * colour`` (transparency 0.5), outside
it is the source unchanged. One of 8 colours: red, purple (128, 0, 128), blue, green (0, 128, 0), yellow, white,
black, gray. The instruction fills one random template (:mod:`idiff_segmentation.templates`) with the referring
expression or class name and the colour name. An empty mask (a gRefCOCO expression with no target, or a
semantic class absent from the image) gives the unchanged source as target.

Training draws the colour at random, as the paper does. Test requests may instead pick a *contrasting* colour
(:func:`contrast_colour`): where the object already has the overlay colour, ``0.5 * pixel + 0.5 * colour`` equals
the pixel and no decoder can see the mask, so the benchmark would measure the colour draw, not the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idiff_segmentation.templates import build_instruction, templates_for

__all__ = [
    "COLOURS",
    "COLOUR_NAMES",
    "DEFAULT_ALPHA",
    "EncodedMask",
    "class_phrase",
    "colour_rgb",
    "contrast_colour",
    "encode_mask",
    "overlay_mask",
]

#: The 8 colours of the public code, in a fixed order.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "purple": (128, 0, 128),
    "blue": (0, 0, 255),
    "green": (0, 128, 0),
    "yellow": (255, 255, 0),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)

#: Weight of the colour in the overlay (the paper's transparency 0.5).
DEFAULT_ALPHA = 0.5


def colour_rgb(name: str) -> tuple[int, int, int]:
    """RGB of a colour name; raises ``ValueError`` naming the known colours."""
    try:
        return COLOURS[name]
    except KeyError:
        raise ValueError(f"unknown colour {name!r}; known: {', '.join(COLOUR_NAMES)}") from None


def class_phrase(name: str) -> str:
    """A class name as it reads in an instruction: ``"sky-other"`` -> ``"sky"``, ``"pool_table"`` -> ``"pool table"``.

    COCO-Stuff names such as ``"wall-concrete"`` keep both words (``"wall concrete"``); the ``-other`` suffix of
    its catch-all classes is dropped.
    """
    text = name.strip()
    if text.endswith("-other"):
        text = text[: -len("-other")]
    return " ".join(text.replace("_", " ").replace("-", " ").split())


def overlay_mask(
    image: np.ndarray, mask: np.ndarray, colour: str | tuple[int, int, int], alpha: float = DEFAULT_ALPHA
) -> np.ndarray:
    """``(1 - alpha) * pixel + alpha * colour`` inside ``mask``, the pixel elsewhere.

    Args:
        image: uint8 (H, W, 3); not modified.
        mask: boolean (H, W).
        colour: colour name or RGB triple.
        alpha: weight of the colour (0.5 in the paper).

    Returns:
        A new uint8 image (rounded to the nearest integer).
    """
    rgb = np.asarray(colour_rgb(colour) if isinstance(colour, str) else colour, dtype=np.float32)
    m = np.asarray(mask, dtype=bool)
    if m.shape != image.shape[:2]:
        raise ValueError(f"mask {m.shape} does not match image {image.shape[:2]}")
    out = np.array(image, dtype=np.uint8, copy=True)
    blended = (1.0 - alpha) * image[m].astype(np.float32) + alpha * rgb
    out[m] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def contrast_colour(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, keep: int = 3) -> str:
    """A colour that differs clearly from the masked pixels: random among the ``keep`` most distant ones.

    Distance is the mean RGB distance between the colour and each masked pixel; an empty mask compares with the
    whole image.
    """
    m = np.asarray(mask, dtype=bool)
    pixels = image[m] if m.any() else image.reshape(-1, 3)
    pixels = pixels.astype(np.float32)
    rgb = np.asarray([COLOURS[c] for c in COLOUR_NAMES], np.float32)
    distance = np.sqrt(((pixels[None, :, :] - rgb[:, None, :]) ** 2).sum(-1)).mean(1)
    best = np.argsort(-distance, kind="stable")[: max(1, keep)]
    return COLOUR_NAMES[int(rng.choice(best))]


@dataclass(frozen=True)
class EncodedMask:
    """Result of :func:`encode_mask`.

    Attributes:
        target: uint8 (H, W, 3) image with the overlay (the source where the mask is empty).
        instruction: the text instruction.
        colour: the colour name.
        template: index of the template used.
    """

    target: np.ndarray
    instruction: str
    colour: str
    template: int


def encode_mask(
    image: np.ndarray,
    mask: np.ndarray,
    obj: str,
    kind: str,
    rng: np.random.Generator,
    colour: str | None = None,
    template: int | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> EncodedMask:
    """Encode one mask as a coloured overlay plus an instruction naming ``obj`` and the colour.

    Args:
        image: source image, uint8 (H, W, 3).
        mask: boolean (H, W); empty = no target (target is the source).
        obj: referring expression or class name filling ``{object}``.
        kind: ``"referring"`` or ``"semantic"`` (which templates).
        rng: random generator for the colour and template.
        colour: fixed colour name; ``None`` = uniform over the 8 colours.
        template: fixed template index; ``None`` = random.
        alpha: weight of the colour in the overlay.

    Returns:
        :class:`EncodedMask`.
    """
    if colour is None:
        colour = COLOUR_NAMES[int(rng.integers(len(COLOUR_NAMES)))]
    colour_rgb(colour)
    if template is None:
        template = int(rng.integers(len(templates_for(kind))))
    target = overlay_mask(image, mask, colour, alpha)
    return EncodedMask(target, build_instruction(kind, obj, colour, template), colour, template)
