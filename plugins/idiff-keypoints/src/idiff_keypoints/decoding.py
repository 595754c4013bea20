"""The keypoint decoder: generated image -> one (x, y, score) per requested colour.

PAPER.md "Decoding": the paper post-processes with a lightweight U-Net but releases no decoder ("a simple
mapping process"). This is such a mapping, with no learned parameters: for each requested colour,

1. per-pixel weight = ``closeness(generated, colour) * moved_toward(colour)``, where ``closeness`` falls
   linearly from 1 at the colour to 0 at ``colour_tolerance`` (RGB distance) and ``moved_toward`` is how
   much closer to the colour the pixel got from source to generated, less ``change_margin`` (small global
   shifts such as a VAE round trip), over ``change_tolerance``. Colours
   already present in the source give no weight; noise does not consistently move toward a colour.
2. the weights are box-filtered at the disk size; the best box is the blob;
3. the point is the weighted centroid in a window of ~1.5 disk radii around it (sub-pixel);
4. the score is the blob's weight over the disk area, clipped to [0, 1]; below ``min_score`` the joint
   is "not found": the crop centre with score 0.

Search. Below a disk radius of 5 px (crops under 128 px with the paper's disk size, such as the embedded default's
64 px) steps 1-2 run on every pixel (integral image). For larger disks they run first on a grid subsampled by
``coarse_stride`` (4 at 256 px: a disk keeps ~20 samples), then on every pixel of a window around the best coarse
box, and around a second blob of the colour when its coarse box sum comes within ``RUNNER_UP`` of the best (the
full-resolution box sums decide between them). The result is the full search's wherever the blob of a colour is
unambiguous (tests/test_kp_coarse_search.py; ``stride=1`` forces the full search): ~0.4 ms of CPU per 256 px image
with 4-5 colours instead of ~5 ms (BENCHMARKS.md, "Decoders").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from idiff_keypoints.encoding import colour_rgb, disk_radius_for

__all__ = ["coarse_stride", "decode_keypoints", "keypoint_weights"]

#: a second blob of a colour whose coarse box sum is at least this fraction of the best one is also searched at full
#: resolution (the coarse sums are estimates; the full-resolution sums decide).
RUNNER_UP = 0.5


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
        np.add(t[0], t[1], out=d2[i])  # the additions of np.sum over axis 0, in its order, without its overhead
        d2[i] += t[2]
    return np.sqrt(d2, out=d2).reshape(len(rgb), h, w)


def _evidence(
    dg: np.ndarray, ds: np.ndarray, colour_tolerance: float, change_tolerance: float, change_margin: float
) -> np.ndarray:
    """Step 1 from the colour distances of generated (``dg``) and source (``ds``) pixels; both are overwritten."""
    ds -= dg
    ds -= change_margin
    ds *= 1.0 / change_tolerance
    np.clip(ds, 0.0, 1.0, out=ds)  # moved toward the colour
    dg *= -1.0 / colour_tolerance
    dg += 1.0
    np.clip(dg, 0.0, 1.0, out=dg)  # closeness to the colour
    return dg * ds


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
    dg = _colour_distance(np.asarray(generated)[..., :3], rgb)
    ds = _colour_distance(np.asarray(source)[..., :3], rgb)
    return _evidence(dg, ds, colour_tolerance, change_tolerance, change_margin)


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


def coarse_stride(radius: float) -> int:
    """Sampling stride of the coarse search for disks of ``radius`` px: a disk keeps >= ~20 samples (radius / stride
    >= 2.5), so 1 (no coarse search) below a radius of 5 px, i.e. crops under 128 px with the paper's disk size."""
    return max(1, int(radius // 2.5))


def _crop_into(out: np.ndarray, image: np.ndarray, cy: int, cx: int) -> None:
    """Fill ``out`` (S, S, 3) with the window of ``image`` centred on (cy, cx), zero outside the image."""
    m, (h, w) = out.shape[0] // 2, image.shape[:2]
    if m <= cy < h - m and m <= cx < w - m:
        out[...] = image[cy - m : cy + m + 1, cx - m : cx + m + 1, :3]
        return
    out[...] = 0
    y0, y1, x0, x1 = max(cy - m, 0), min(cy + m + 1, h), max(cx - m, 0), min(cx + m + 1, w)
    out[y0 - cy + m : y1 - cy + m, x0 - cx + m : x1 - cx + m] = image[y0:y1, x0:x1, :3]


def _crop_distance(crops: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """RGB distance of crop ``(j, i)``'s pixels to colour ``i``: crops (2, c, S, S, 3) -> (2, c, S, S) float32.

    The colour is subtracted as a row pattern (a broadcast over a last axis of 3 is ~5x slower) and the channels are
    summed plane by plane.
    """
    _, c, n = crops.shape[:3]
    t = crops.astype(np.float32).reshape(2, c, n, 3 * n)
    t -= np.tile(rgb, (1, n))[None, :, None, :]
    t *= t
    t = t.reshape(crops.shape)
    d2 = t[..., 0] + t[..., 1]
    d2 += t[..., 2]
    return np.sqrt(d2, out=d2)


def _peaks(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of each map's largest box sum (the first in row-major order), boxes (k, H, W)."""
    flat = boxes.reshape(len(boxes), -1)
    peak = flat.argmax(1)
    rows, cols = np.divmod(peak, boxes.shape[2])
    return rows, cols, flat[np.arange(len(boxes)), peak]


def _coarse_candidates(boxes: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colour index, row and column of the best box of each coarse map, plus the best box at least a box away from
    it where that one sums to ``RUNNER_UP`` of the best or more (a second blob, which may win at full resolution).
    ``boxes`` is overwritten."""
    k = len(boxes)
    rows, cols, best = _peaks(boxes)
    for i in range(k):  # the boxes are not needed afterwards: clear each best one's surroundings in place
        y, x = rows[i], cols[i]
        boxes[i, max(y - 2 * half, 0) : y + 2 * half + 1, max(x - 2 * half, 0) : x + 2 * half + 1] = 0
    rows2, cols2, second = _peaks(boxes)
    keep = np.nonzero((second >= RUNNER_UP * best) & (second > 0))[0]
    return (np.concatenate([np.arange(k), keep]), np.concatenate([rows, rows2[keep]]),
            np.concatenate([cols, cols2[keep]]))


@functools.lru_cache(maxsize=16)
def _band(span: int, width: int, size: int) -> np.ndarray:
    """(span, size) matrix whose row ``i`` sums entries ``i .. i + width - 1``: box sums as two matrix products."""
    i = np.arange(size)
    band = ((i >= np.arange(span)[:, None]) & (i < np.arange(span)[:, None] + width)).astype(np.float64)
    band.flags.writeable = False  # cached: shared by every call
    return band


def _coarse_to_fine(
    generated: np.ndarray, source: np.ndarray, rgb: np.ndarray, half: int, win: int, stride: int, tolerances: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Steps 1-2 on a ``stride``-subsampled grid, then at full resolution in a window around the coarse peaks.

    Returns per colour the evidence map of a (2m+1)^2 window of the image, the peak's row and column and box sum in
    it, and the window's top-left pixel ``(y0, x0)``. Zero pixels outside the image weigh 0 (they did not move toward
    the colour), as in the full-resolution search. A colour's best coarse box and a second blob's within
    ``RUNNER_UP`` of it are both searched at full resolution, the larger box sum winning as in the full search.
    """
    k, o, (h, w) = len(rgb), stride // 2, source.shape[:2]
    grid_g, grid_s = generated[o::stride, o::stride, :3], source[o::stride, o::stride, :3]
    rows_c = grid_g.shape[0]
    planes = np.empty((3, 2 * rows_c, grid_g.shape[1]), np.float32)  # both images, planar: one distance call
    planes[:, :rows_c], planes[:, rows_c:] = np.moveaxis(grid_g, -1, 0), np.moveaxis(grid_s, -1, 0)
    dist = _colour_distance(np.moveaxis(planes, 0, -1), rgb)
    half_c = max(1, half // stride)
    coarse = _box_sums(_evidence(dist[:, :rows_c], dist[:, rows_c:], *tolerances), half_c)
    colour, rows, cols = _coarse_candidates(coarse, half_c)
    cy, cx = np.minimum(rows * stride + o, h - 1), np.minimum(cols * stride + o, w - 1)
    d = stride + 1  # the full-resolution peak is searched within d px of the coarse one
    m = d + max(half, win)
    c, n, span = len(colour), 2 * m + 1, 2 * d + 1
    crops = np.empty((2, c, n, n, 3), np.result_type(generated, source))  # uint8 from the task; any dtype works
    for j in range(c):
        _crop_into(crops[0, j], generated, cy[j], cx[j])
        _crop_into(crops[1, j], source, cy[j], cx[j])
    dg, ds = _crop_distance(crops, rgb[colour])
    maps = _evidence(dg, ds, *tolerances)
    a, size = m - d - half, 2 * (d + half) + 1  # the boxes of the centres m-d .. m+d
    band = _band(span, 2 * half + 1, size)
    py, px, sums = _peaks(band @ maps[:, a : a + size, a : a + size].astype(np.float64) @ band.T)
    py, px = py + m - d, px + m - d
    pick = np.arange(k)
    for j in range(k, c):  # a second blob wins with a larger sum, or an equal one earlier in row-major order
        i = colour[j]
        if (sums[j], -(cy[j] + py[j]), -(cx[j] + px[j])) > (sums[i], -(cy[i] + py[i]), -(cx[i] + px[i])):
            pick[i] = j
    return maps[pick], py[pick], px[pick], sums[pick], cy[pick] - m, cx[pick] - m


def _centroids(maps: np.ndarray, py: np.ndarray, px: np.ndarray, win: int) -> tuple[np.ndarray, ...]:
    """Weighted centroid (x, y) of each map (k, H, W) in the window of ``win`` px around (py, px), which lies inside
    the map, and the window's total weight (row and column sums as matrix products with the window's indicators)."""
    ys, xs = np.arange(maps.shape[1], dtype=np.float64), np.arange(maps.shape[2], dtype=np.float64)
    in_rows = (np.abs(ys - py[:, None]) <= win).astype(maps.dtype)  # (k, H)
    in_cols = (np.abs(xs - px[:, None]) <= win).astype(maps.dtype)  # (k, W)
    columns = (in_rows[:, None, :] @ maps)[:, 0] * in_cols  # (k, W): the window's column sums
    rows = (maps @ in_cols[:, :, None])[..., 0] * in_rows  # (k, H): its row sums
    total = columns.sum(1, dtype=np.float64)
    safe = np.where(total > 0, total, 1.0)
    return (columns @ xs) / safe, (rows @ ys) / safe, total


def decode_keypoints(
    generated: np.ndarray,
    source: np.ndarray,
    colours: Sequence[str | tuple[int, int, int]],
    radius: float | None = None,
    colour_tolerance: float = 110.0,
    change_tolerance: float = 50.0,
    change_margin: float = 15.0,
    min_score: float = 0.1,
    stride: int | None = None,
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
        stride: sampling stride of a coarse search for the blobs before the full-resolution one around them;
            ``None`` = :func:`coarse_stride` of the radius (1 below 5 px: every pixel is searched).

    Returns:
        float64 array (k, 3) of ``(x, y, score)`` in crop pixels; not found = crop centre, score 0.
    """
    generated, source = np.asarray(generated), np.asarray(source)
    if generated.shape[:2] != source.shape[:2]:
        raise ValueError(f"generated {generated.shape} and source {source.shape} differ in size")
    h, w = source.shape[:2]
    k = len(colours)
    out = np.zeros((k, 3), dtype=np.float64)
    out[:, 0], out[:, 1] = (w - 1) / 2.0, (h - 1) / 2.0
    if k == 0:
        return out
    r = disk_radius_for(h) if radius is None else float(radius)
    tolerances = (colour_tolerance, change_tolerance, change_margin)
    half = max(int(np.ceil(np.sqrt(r * r + 1.0))), 1)
    win = max(int(np.ceil(1.5 * r)) + 1, half)
    stride = coarse_stride(r) if stride is None else max(int(stride), 1)
    if stride > 1 and min(h, w) > 4 * stride:  # a coarse grid of more than 4 cells a side, else search every pixel
        maps, py, px, sums, y0, x0 = _coarse_to_fine(generated, source, _rgb_array(colours), half, win, stride,
                                                    tolerances)
    else:  # every pixel: the maps are padded by the centroid window, so it never leaves them
        weights = keypoint_weights(generated, source, colours, *tolerances)
        py, px, sums = _peaks(_box_sums(weights, half))
        maps, py, px, y0, x0 = np.pad(weights, ((0, 0), (win, win), (win, win))), py + win, px + win, -win, -win
    scores = np.minimum(sums / (np.pi * (r * r + 1.0)), 1.0)
    x, y, total = _centroids(maps, py, px, win)
    found = (scores >= min_score) & (total > 0)
    out[found] = np.stack([x + x0, y + y0, scores], axis=1)[found]
    return out
