"""The grid mask decoder: the analytic decoder read on a coarse grid, its edges refined at full resolution.

:func:`idiff_segmentation.decoding.decode_mask` reads every pixel with a bilateral neighbourhood; at 256 px that is
~20 ms of CPU per mask (BENCHMARKS.md, "Decoders"). This decoder makes the same three readings -- how far each
pixel moved from its source toward the requested colour (``mask_votes``), the output's global tint (the median move
of the unmarked pixels), and how far to trust a pixel's own vote (the noise left after the tint) -- but on a grid of
``grid`` x ``grid`` cells (64 by default, the resolution the analytic decoder's window is defined at), and only the
cells it cannot decide on the grid go back to full resolution:

1. **grid**: generated and source images are averaged over ``f x f`` blocks (``f = H // grid``), which also
   averages a model's pixel noise down by ``f``. Each cell moves ``t`` toward the colour (step 1 of the analytic
   decoder); cells with ``t <= threshold * alpha`` read as unmarked at first, and their median move is the output's
   tint (clipped to ``max_shift``), taken out of every cell's ``t``. Votes (step 2) are mixed half and half with
   their 3x3 mean (step 3 without the bilateral weights: a cell's own vote is already ``f`` times less noisy than a
   pixel's), and a cell is marked where that exceeds ``prior``.
2. **edges**: a cell whose 3x3 neighbourhood holds both decisions, or that moved between 15 % and 85 % of the way
   (a block part-covered by the mask) while its colour differs enough from the requested one (weight > 1/2), is read
   pixel by pixel: each of its pixels scores ``own * vote + (1 - own) * (mean + source_weight * side)`` >
   ``prior``, where ``mean`` is the 3x3 mean of the pixel votes around it (a decided cell's pixels voting as their
   cell), ``side`` in [-1, 1] says whether the pixel's source colour is nearer that of the wholly marked or the wholly
   unmarked cells around (the edge-aware part of the analytic decoder's bilateral weights: a model's blur smears the
   mark a pixel past the object's edge, and the source says where that edge is), and
   ``own = 1 / (1 + (residual / noise_scale)^2)`` from the median residual of one pixel per unmarked cell. A clean
   encoding (residual 0) is thus read to the pixel at its edges, a noisy one by its neighbourhood. Every other pixel
   takes its cell's decision.

Not the same masks as the analytic decoder (a mask part thinner than ~15 % of a block can be lost, a blurred
texture is not modelled, and the source's edges count through two colours per cell), which stays the default;
``decode_grid`` in the tasks' config picks this one. How close the two are, on the synthetic test requests and
under a model's artefacts, and their speed: BENCHMARKS.md ("Decoders") and the plugin's
tests/test_seg_grid_decoder.py. Images whose sides are not multiples of ``f``, or under twice ``grid``, are decoded
by ``decode_mask`` itself.
"""

from __future__ import annotations

import functools

import numpy as np

from idiff_segmentation.decoding import decode_mask, decoder_matrix, weighted_votes
from idiff_segmentation.encoding import DEFAULT_ALPHA, colour_rgb

__all__ = ["block_mean", "decode_mask_grid", "grid_factor"]


def grid_factor(height: int, width: int, grid: int) -> int:
    """Block side ``f`` of a ``grid`` px decode (``height // grid``), or 1 where the image needs full resolution."""
    f = height // grid if grid > 0 else 1
    return f if f >= 2 and height % f == 0 and width % f == 0 else 1


@functools.lru_cache(maxsize=16)
def _block_mixer(factor: int, chroma_weight: float | None) -> np.ndarray:
    """(factor * 3, 3): a block row's ``factor`` RGB sums -> the block's mean, in the decoder's space if asked."""
    matrix = np.eye(3, dtype=np.float32) if chroma_weight is None else decoder_matrix(chroma_weight)
    mixer = np.tile(matrix / np.float32(factor * factor), (factor, 1))
    mixer.flags.writeable = False  # cached: shared by every call
    return mixer


def block_mean(image: np.ndarray, factor: int, chroma_weight: float | None = None) -> np.ndarray:
    """Mean of each ``factor x factor`` block of an (H, W, 3) image, float32 (H / factor, W / factor, 3).

    With ``chroma_weight``, in the decoder's colour space (``to_decoder_space`` of the means).
    """
    return np.moveaxis(_block_planes(image, factor, chroma_weight), 0, -1)


def _block_planes(image: np.ndarray, factor: int, chroma_weight: float | None = None) -> np.ndarray:
    """:func:`block_mean` as three (H / factor, W / factor) planes. Rows are summed first (uint8 in uint16: exact
    while ``factor`` <= 257), then each block's ``factor`` row sums and the colour matrix in one matrix product."""
    h, w = image.shape[0] // factor, image.shape[1] // factor
    wide = np.uint16 if image.dtype == np.uint8 and factor <= 257 else np.float32
    rows = np.add(image[0::factor], image[1::factor], dtype=wide) if factor > 1 else image.astype(wide)
    for k in range(2, factor):
        rows += image[k::factor]
    mixer = _block_mixer(factor, chroma_weight).T  # (3, factor * 3)
    return (mixer @ rows.reshape(h * w, factor * 3).T.astype(np.float32)).reshape(3, h, w)


def _movement(moves: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 1 of the analytic decoder on colour planes (3, ...): how far each pixel or cell moved toward the colour,
    ``t = <moves, d> / |d|^2`` (``d`` = colour - source), and ``|d|^2`` (at least 1)."""
    n2 = d[0] * d[0]
    n2 += d[1] * d[1]
    n2 += d[2] * d[2]
    np.maximum(n2, 1.0, out=n2)
    t = moves[0] * d[0]
    t += moves[1] * d[1]
    t += moves[2] * d[2]
    t /= n2
    return t, n2


def _pad_edge(values: np.ndarray) -> np.ndarray:
    """A 2-D array with one row / column more on each side, copies of its edges (``np.pad(mode="edge")``, faster)."""
    h, w = values.shape
    p = np.empty((h + 2, w + 2), values.dtype)
    p[1:-1, 1:-1] = values
    p[0, 1:-1], p[-1, 1:-1] = values[0], values[-1]
    p[:, 0], p[:, -1] = p[:, 1], p[:, -2]
    return p


def _box3(values: np.ndarray) -> np.ndarray:
    """Mean over each 3x3 window, edges replicated."""
    p = _pad_edge(values)
    rows = p[:-2] + p[1:-1]
    rows += p[2:]
    out = rows[:, :-2] + rows[:, 1:-1]
    out += rows[:, 2:]
    out *= values.dtype.type(1.0 / 9.0)
    return out


def _median(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """The median's lower middle value along ``axis`` (one partition; the decoder needs no interpolated middle)."""
    k = (values.shape[axis] - 1) // 2
    return np.take(np.partition(values, k, axis=axis), k, axis=axis)


def _window_mean(
    coarse: np.ndarray, fine: np.ndarray, cy: np.ndarray, cx: np.ndarray, factor: int
) -> np.ndarray:
    """Mean vote over each undecided pixel's 3x3 window at full resolution: the fine votes where computed
    (``fine``: the pixels of the cells ``(cy, cx)``, cell by cell, row-major within one), elsewhere the vote of the
    pixel's cell (``coarse``), outside the image the border cell's."""
    w = coarse.shape[1]
    full = _pad_edge(coarse).repeat(factor, axis=1).repeat(factor, axis=0)  # (H + 2f, W + 2f): one cell of margin
    wide = (w + 2) * factor
    top_left = (cy + 1) * factor * wide + (cx + 1) * factor
    dy, dx = np.divmod(np.arange(factor * factor), factor)
    full.ravel()[(top_left[:, None] + (dy * wide + dx)).ravel()] = fine
    k = 1  # the window's reach
    side = factor + 2 * k
    py, px = np.divmod(np.arange(side * side), side)
    patch = full.ravel().take(top_left[:, None] + ((py - k) * wide + px - k)).reshape(-1, side)
    band = (np.abs(np.arange(side)[:, None] - k - np.arange(factor)) <= k).astype(patch.dtype)  # (side, factor)
    rows = (patch @ band).reshape(-1, side, factor)  # sums along each row of the patch, one matrix product
    out = rows[:, :factor].copy()
    for j in range(1, 2 * k + 1):
        out += rows[:, j : j + factor]
    return (out / float((2 * k + 1) ** 2)).reshape(-1)


#: row and column offsets of a cell's 3x3 neighbourhood
_NEIGHBOURS = np.divmod(np.arange(9), 3)


def _source_side(
    sc: np.ndarray, inside: np.ndarray, outside: np.ndarray, cy: np.ndarray, cx: np.ndarray, sp: np.ndarray,
    tolerance: float,
) -> np.ndarray:
    """Which side of the mask each undecided pixel's source colour belongs to, in [-1, 1] (1: inside).

    For each undecided cell ``(cy, cx)``, the mean source colours (``sc``, (3, h, w) planes) of the wholly marked
    (``inside``) and wholly unmarked cells (``outside``) among its 3x3 neighbours (``in``, ``out``); a pixel (source
    ``sp``, (3, N) planes, each cell's ``f^2`` pixels in a row) scores
    ``(|sp - out|^2 - |sp - in|^2) / (|in - out|^2 + tolerance^2)``, clipped: +-1 at either mean where they differ
    clearly, ~0 where they are alike or a side is missing. It is the edge-aware part of the analytic decoder's
    bilateral neighbourhood, with two colours per cell instead of one per neighbour.
    """
    h, w = inside.shape
    flags = np.zeros((2, h + 2, w + 2), np.float32)
    flags[0, 1:-1, 1:-1], flags[1, 1:-1, 1:-1] = inside, outside
    colours = np.zeros((3, h + 2, w + 2), np.float32)
    colours[:, 1:-1, 1:-1] = sc
    oy, ox = _NEIGHBOURS
    around = (cy * (w + 2) + cx)[:, None] + (oy * (w + 2) + ox)  # (K, 9): the 3x3 cells in the padded grid
    weights = flags.reshape(2, -1).take(around, axis=1)  # (2, K, 9)
    near = colours.reshape(3, -1).take(around, axis=1)  # (3, K, 9)
    ones = np.ones(9, np.float32)  # sums over the 9 neighbours as matrix-vector products (numpy's sum over a short
    counts = weights @ ones  # last axis is ~3x slower)
    sums = (near[None] * weights[:, None]) @ ones  # (2, 3, K)
    inner, outer = sums / np.maximum(counts, 1.0)[:, None]
    gap = inner - outer
    offset = (inner * inner).sum(0) - (outer * outer).sum(0)
    scale = np.where((counts > 0).all(0), 1.0 / ((gap * gap).sum(0) + tolerance * tolerance), 0.0)
    pixels = sp.reshape(3, len(cy), -1)  # (3, K, f^2)
    side = pixels[0] * (2.0 * gap[0])[:, None]
    side += pixels[1] * (2.0 * gap[1])[:, None]
    side += pixels[2] * (2.0 * gap[2])[:, None]
    side -= offset[:, None]
    side *= scale[:, None].astype(side.dtype)
    return np.clip(side, -1.0, 1.0, out=side).reshape(-1)


def _read_grid(
    gc: np.ndarray, sc: np.ndarray, c: np.ndarray, alpha: float, threshold: float, tolerance: float, prior: float,
    max_shift: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 1 on the cells (decoder-space planes, (3, h, w)): their votes, which are marked, which are undecided,
    the tint, and how far each moved (in units of ``alpha``)."""
    moves, d = gc - sc, c[:, None, None] - sc
    t, n2 = _movement(moves, d)
    weight = n2 / (n2 + np.float32(tolerance * tolerance))
    unmarked = t <= threshold * alpha  # first reading: the cells that did not move toward the colour
    delta = np.zeros(3, np.float32)
    if unmarked.sum() >= 0.05 * unmarked.size:  # the output's tint: their median move
        sample = np.flatnonzero(unmarked)
        sample = moves.reshape(3, -1).take(sample[:: max(len(sample) // 500, 1)], axis=1)  # (3, < 1,000)
        delta = np.clip(_median(sample), -max_shift, max_shift).astype(np.float32)
        t -= (delta @ d.reshape(3, -1)).reshape(t.shape) / n2
    votes = weighted_votes(t, weight, alpha, threshold)
    marked = 0.5 * (votes + _box3(votes)) > prior
    count = _box3(marked.astype(np.float32))
    moved = t / alpha
    undecided = ((count > 0.05) & (count < 0.95)) | ((moved > 0.15) & (moved < 0.85) & (weight > 0.5))
    return votes, marked, undecided, delta, moved


def _pixel_noise(
    g_flat: np.ndarray, s_flat: np.ndarray, quiet: np.ndarray, cols: int, factor: int, matrix: np.ndarray,
    delta: np.ndarray,
) -> float:
    """Median residual ``|g - delta - s|`` (decoder space) at the centre pixel of (up to ~500 of) the ``quiet``
    cells: how far a single pixel strays where nothing was painted."""
    quiet = quiet[:: max(len(quiet) // 250, 1)]
    if len(quiet) == 0:
        return 0.0
    width = cols * factor
    centre = (quiet // cols * factor + factor // 2) * width + quiet % cols * factor + factor // 2
    diff = (g_flat.take(centre, axis=0).astype(np.float32) - s_flat.take(centre, axis=0)) @ matrix - delta
    return float(np.sqrt(_median(np.einsum("nc,nc->n", diff, diff))))


def decode_mask_grid(
    generated: np.ndarray,
    source: np.ndarray,
    colour: str | tuple[int, int, int],
    alpha: float = DEFAULT_ALPHA,
    threshold: float = 0.5,
    tolerance: float = 30.0,
    prior: float = 0.02,
    max_shift: float = 32.0,
    chroma_weight: float = 0.35,
    noise_scale: float = 1.0,
    grid: int = 64,
    radius: float = 1.0,
    source_weight: float = 0.3,
) -> np.ndarray:
    """Read the mask painted in ``colour`` on a ``grid`` px grid, refining undecided cells per pixel.

    Arguments as :func:`idiff_segmentation.decoding.decode_mask` (``grid``: cells a side; the analytic decoder's
    window is one cell each way here; ``radius`` is its window for images read pixel by pixel), and
    ``source_weight``: how much a pixel's source colour, nearer the marked or the unmarked cells around it, adds to
    its score (step 2; 0 = none). Returns a boolean (H, W) mask.
    """
    g, s = np.asarray(generated)[..., :3], np.asarray(source)[..., :3]
    if g.shape != s.shape:
        raise ValueError(f"generated {g.shape} and source {s.shape} differ in size")
    height, width = s.shape[:2]
    f = grid_factor(height, width, grid)
    if f == 1:
        return decode_mask(g, s, colour, alpha, threshold, tolerance, radius, 20.0, prior, max_shift, chroma_weight,
                           noise_scale)
    m = decoder_matrix(chroma_weight)
    c = np.asarray(colour_rgb(colour) if isinstance(colour, str) else colour, dtype=np.float32) @ m
    gc, sc = _block_planes(g, f, chroma_weight), _block_planes(s, f, chroma_weight)
    votes, marked, undecided, delta, moved = _read_grid(gc, sc, c, alpha, threshold, tolerance, prior, max_shift)
    mask = marked.repeat(f, axis=1).repeat(f, axis=0)
    cells = np.flatnonzero(undecided)
    if len(cells) == 0:
        return mask
    # step 2: the undecided cells' pixels, each by its own vote and its 3x3 neighbourhood's
    cols = width // f
    g_flat, s_flat = g.reshape(-1, 3), s.reshape(-1, 3)
    residual = _pixel_noise(g_flat, s_flat, np.flatnonzero(~marked & ~undecided), cols, f, m, delta)
    own = 1.0 / (1.0 + (residual / noise_scale) ** 2)
    cy, cx = np.divmod(cells, cols)
    dy, dx = np.divmod(np.arange(f * f), f)
    flat = ((cy * f * width + cx * f)[:, None] + (dy * width + dx)).ravel()
    gq, sq = g_flat.take(flat, axis=0).T, s_flat.take(flat, axis=0).T  # (3, N) views
    sp = m.T @ sq.astype(np.float32)
    moves = m.T @ (gq.astype(np.float32) - sq) - delta[:, None]
    t, n2 = _movement(moves, c[:, None] - sp)
    fine = weighted_votes(t, n2 / (n2 + np.float32(tolerance * tolerance)), alpha, threshold)
    score = own * fine + (1.0 - own) * _window_mean(votes, fine, cy, cx, f)
    if source_weight:
        side = _source_side(sc, marked & (moved > 0.85), ~marked & (moved < 0.15), cy, cx, sp, tolerance)
        score += (1.0 - own) * source_weight * side
    mask.ravel()[flat] = score > prior
    return mask

