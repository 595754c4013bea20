"""The keypoint decoder: generated image -> one (x, y, score) per requested colour.

PAPER.md "Decoding": the paper post-processes with a lightweight U-Net but releases no decoder ("a simple
mapping process"). This is such a mapping, with no learned parameters: for each requested colour,

1. per-pixel weight = ``closeness(generated, colour) * moved_toward(colour)``, where ``closeness`` falls
   linearly from 1 at the colour to 0 at ``colour_tolerance`` (RGB distance) and ``moved_toward`` is how
   much closer to the colour the pixel got from source to generated, less ``change_margin`` (small global
   shifts such as a VAE round trip), over ``change_tolerance``. Colours
   already present in the source give no weight; noise does not consistently move toward a colour.
2. the weights are box-filtered at the disk size (integral image); the best box is the blob;
3. the point is the weighted centroid in a window of ~1.5 disk radii around it (sub-pixel);
4. the score is the blob's weight over the disk area, clipped to [0, 1]; below ``min_score`` the joint
   is "not found": the crop centre with score 0.

Everything is vectorised over pixels and colours; a 64x64 image with 5 colours takes well under 1 ms, a 256 px one
about 5 ms of CPU (BENCHMARKS.md, "Decoders").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from idiff_keypoints.encoding import colour_rgb, disk_radius_for

__all__ = ["decode_keypoints", "keypoint_weights"]


def _rgb_array(colours: Sequence[str | tuple[int, int, int]]) -> np.ndarray:
    rows = [colour_rgb(c) if isinstance(c, str) else tuple(c) for c in colours]
    return np.asarray(rows, dtype=np.float32).reshape(-1, 3)


def _colour_distance(image: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Euclidean RGB distance of every pixel to every colour: (k, H, W) float32 (``image``: (H, W, 3), any dtype)."""
    h, w = image.shape[:2]
    planes = np.ascontiguousarray(np.moveaxis(image, -1, 0), dtype=np.float32).reshape(3, -1)  # one copy, C order
    d2 = np.empty((len(rgb), h * w), dtype=np.float32)
    for i, c in enumerate(rgb):  # k <= 9 colours; each line is vectorised over all pixels
        t = planes - c[:, None]
        t *= t
        np.sum(t, axis=0, out=d2[i])
    return np.sqrt(d2, out=d2).reshape(len(rgb), h, w)


def keypoint_weights(
    generated: np.ndarray,
    source: np.ndarray,
    colours: Sequence[str | tuple[int, int, int]],
    colour_tolerance: float = 110.0,
    change_tolerance: float = 50.0,
    change_margin: float = 15.0,
) -> np.ndarray:
    """Per-colour evidence maps in [0, 1], shape (k, H, W) (step 1 of the module docstring)."""
    rgb = _rgb_array(colours)
    g = np.asarray(generated)[..., :3]
    s = np.asarray(source)[..., :3]
    dg = _colour_distance(g, rgb)
    ds = _colour_distance(s, rgb)
    ds -= dg
    ds -= change_margin
    ds *= 1.0 / change_tolerance
    np.clip(ds, 0.0, 1.0, out=ds)  # moved toward the colour
    dg *= -1.0 / colour_tolerance
    dg += 1.0
    np.clip(dg, 0.0, 1.0, out=dg)  # closeness to the colour
    return dg * ds


def _box_sums(weights: np.ndarray, half: int) -> np.ndarray:
    """Sum of each (2*half+1)^2 window centred on every pixel, (k, H, W), zero outside the image.

    Separable: shifted-slice sums for small windows, running (cumulative) sums for large ones. The running sums
    add one column (then one row) at a time, vectorised across the others: the same additions in the same order as
    ``np.cumsum`` (so the same bits), but 2-3x faster than its element-by-element loop along an axis (BENCHMARKS.md,
    "Decoders").
    """
    k, h, w = weights.shape
    n = 2 * half + 1
    pad = np.zeros((k, h + n, w + n), dtype=np.float32)
    pad[:, half + 1 : half + 1 + h, half + 1 : half + 1 + w] = weights
    if n <= 11:
        rows = pad[:, :, 1 : w + 1].copy()
        for d in range(2, n + 1):
            rows += pad[:, :, d : d + w]
        out = rows[:, 1 : h + 1].copy()
        for d in range(2, n + 1):
            out += rows[:, d : d + h]
        return out
    for x in range(1, w + n):  # running sums along x
        pad[:, :, x] += pad[:, :, x - 1]
    rows = pad[:, :, n:] - pad[:, :, :-n]
    for y in range(1, h + n):  # running sums along y
        rows[:, y] += rows[:, y - 1]
    return rows[:, n:, :] - rows[:, :-n, :]


def decode_keypoints(
    generated: np.ndarray,
    source: np.ndarray,
    colours: Sequence[str | tuple[int, int, int]],
    radius: float | None = None,
    colour_tolerance: float = 110.0,
    change_tolerance: float = 50.0,
    change_margin: float = 15.0,
    min_score: float = 0.1,
) -> np.ndarray:
    """Find the disk of each requested colour.

    Args:
        generated: uint8 (H, W, 3) model output.
        source: uint8 (H, W, 3) source crop it was generated from.
        colours: requested colour names (or RGB triples), one per joint.
        radius: disk radius used by the encoder; ``None`` = :func:`disk_radius_for` of the height.
        colour_tolerance: RGB distance at which a pixel stops counting as the colour.
        change_tolerance: RGB distance moved toward the colour, beyond the margin, that counts as fully
            changed.
        change_margin: movement toward the colour ignored as noise (VAE round trips, global colour shifts).
        min_score: blobs scoring below this are "not found".

    Returns:
        float64 array (k, 3) of ``(x, y, score)`` in crop pixels; not found = crop centre, score 0.
    """
    if generated.shape[:2] != source.shape[:2]:
        raise ValueError(f"generated {generated.shape} and source {source.shape} differ in size")
    h, w = source.shape[:2]
    k = len(colours)
    out = np.zeros((k, 3), dtype=np.float64)
    out[:, 0], out[:, 1] = (w - 1) / 2.0, (h - 1) / 2.0
    if k == 0:
        return out
    r = disk_radius_for(h) if radius is None else float(radius)
    weights = keypoint_weights(generated, source, colours, colour_tolerance, change_tolerance, change_margin)
    half = max(int(np.ceil(np.sqrt(r * r + 1.0))), 1)
    boxes = _box_sums(weights, half)
    flat = boxes.reshape(k, -1)
    peak = flat.argmax(1)
    scores = np.clip(flat[np.arange(k), peak] / (np.pi * (r * r + 1.0)), 0.0, 1.0)
    win = max(int(np.ceil(1.5 * r)) + 1, half)
    for i in range(k):  # k <= 9: a loop over colours, never over pixels
        if scores[i] < min_score:
            continue
        py, px = divmod(int(peak[i]), w)
        y0, y1, x0, x1 = max(py - win, 0), min(py + win + 1, h), max(px - win, 0), min(px + win + 1, w)
        patch = weights[i, y0:y1, x0:x1]
        total = patch.sum()
        if total <= 0:
            continue
        ys = np.arange(y0, y1, dtype=np.float64)
        xs = np.arange(x0, x1, dtype=np.float64)
        out[i] = ((patch.sum(0) @ xs) / total, (patch.sum(1) @ ys) / total, scores[i])
    return out
