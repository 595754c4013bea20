"""The detection decoder: generated image -> marked pixels -> one box per connected marked region.

PAPER.md "Encodings" -> Detection: "take the box from the marked region's extreme rows/columns". The encoder moves a
marked pixel from its source value ``s`` toward the colour ``c`` by ``alpha`` (0.5). Per pixel,
``t = <g - s, c - s> / |c - s|^2`` is how far the generated pixel ``g`` moved along that line (0: unchanged,
``alpha``: marked). A pixel is marked when ``t / alpha`` exceeds ``threshold`` (0.5: closer to the mark than to the
source) and the source is at least ``min_contrast`` (RGB distance) away from the colour: where it is not, a mark
cannot show and the pixel says nothing.

Marked pixels are grouped into connected regions (8-neighbourhood, scikit-image ``label``); regions smaller than
``min_area`` pixels are dropped as specks. Each region gives the box of its extreme rows and columns,
``(x, y, w, h)`` with ``w = last column - first column + 1`` (the COCO box of those pixels), and a score, the mean
of ``clip(t / alpha, 0, 1)`` over its pixels: a clean mark scores 1. Objects whose marks touch come back as one box.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label, regionprops

from idiff_detection.marks import DEFAULT_ALPHA, colour_value

__all__ = ["boxes_from_mark", "decode_boxes", "mark_strength"]


def mark_strength(
    generated: np.ndarray, source: np.ndarray, colour: str, alpha: float = DEFAULT_ALPHA, min_contrast: float = 30.0
) -> np.ndarray:
    """``t / alpha`` per pixel (see the module docstring), ``-inf`` where the source is too close to the colour.

    Args:
        generated: uint8 (H, W, 3) model output.
        source: uint8 (H, W, 3) image it was generated from.
        colour: the requested colour name.
        alpha: the mark's colour weight.
        min_contrast: RGB distance between source and colour below which a pixel cannot show a mark.

    Returns:
        float (H, W).
    """
    g, s = np.asarray(generated, np.float32)[..., :3], np.asarray(source, np.float32)[..., :3]
    if g.shape != s.shape:
        raise ValueError(f"generated {g.shape} and source {s.shape} differ in size")
    toward = colour_value(colour) - s
    squared = np.einsum("hwc,hwc->hw", toward, toward)
    moved = np.einsum("hwc,hwc->hw", g - s, toward) / np.maximum(squared, 1.0) / alpha
    return np.where(squared >= min_contrast**2, moved, -np.inf)


def boxes_from_mark(marked: np.ndarray, strength: np.ndarray | None = None, min_area: int = 1) -> np.ndarray:
    """One box per connected region of ``marked`` with at least ``min_area`` pixels, best score first.

    Args:
        marked: boolean (H, W).
        strength: per-pixel evidence; a region's score is its mean clipped to [0, 1] (``None``: every score 1).
        min_area: smallest region kept, in pixels.

    Returns:
        float array (n, 5) of ``(x, y, w, h, score)`` in pixels of ``marked``.
    """
    regions = label(np.asarray(marked, dtype=bool), connectivity=2)
    rows = []
    for region in regionprops(regions):
        if region.area < min_area:
            continue
        top, left, bottom, right = region.bbox  # bottom and right are one past the last row / column
        score = 1.0 if strength is None else float(np.clip(strength[regions == region.label], 0, 1).mean())
        rows.append((left, top, right - left, bottom - top, score))
    rows.sort(key=lambda r: -r[4])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 5)


def decode_boxes(
    generated: np.ndarray,
    source: np.ndarray,
    colour: str,
    alpha: float = DEFAULT_ALPHA,
    threshold: float = 0.5,
    min_contrast: float = 30.0,
    min_area: int = 1,
) -> np.ndarray:
    """The boxes of the regions marked in ``colour``: (n, 5) ``(x, y, w, h, score)`` (see the module docstring)."""
    strength = mark_strength(generated, source, colour, alpha, min_contrast)
    return boxes_from_mark(strength > threshold, strength, min_area)
