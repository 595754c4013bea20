"""The full-resolution search's faster helpers give the previous helpers' results bit for bit (BENCHMARKS.md,
"Decoders").

The previous colour distance (a transposing copy of the image, ``np.sum`` over the channels) and running box sums
(``np.cumsum``) are kept here as the reference; ``decode_keypoints(stride=1)`` with them swapped in is the previous
full search. The coarse-to-fine search against the full one: test_kp_coarse_search.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from idiff_keypoints import decoding
from idiff_keypoints.encoding import COLOUR_NAMES, COLOURS

BOX_SUMS = decoding._box_sums  # the current one, kept before a test swaps in the previous one


def previous_colour_distance(image: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    planes = np.ascontiguousarray(np.moveaxis(np.asarray(image, np.float32), -1, 0).reshape(3, -1), dtype=np.float32)
    d2 = np.empty((len(rgb), h * w), dtype=np.float32)
    for i, c in enumerate(rgb):
        t = planes - c[:, None]
        t *= t
        np.sum(t, axis=0, out=d2[i])  # the current one adds the planes itself
    return np.sqrt(d2, out=d2).reshape(len(rgb), h, w)


def previous_box_sums(weights: np.ndarray, half: int) -> np.ndarray:
    k, h, w = weights.shape
    n = 2 * half + 1
    if n <= 11:  # unchanged path
        return BOX_SUMS(weights, half)
    pad = np.zeros((k, h + n, w + n), dtype=np.float32)
    pad[:, half + 1 : half + 1 + h, half + 1 : half + 1 + w] = weights
    np.cumsum(pad, axis=2, out=pad)
    rows = pad[:, :, n:] - pad[:, :, :-n]
    np.cumsum(rows, axis=1, out=rows)
    return rows[:, n:, :] - rows[:, :-n, :]


@pytest.mark.parametrize("seed", range(12))
def test_decode_keypoints_is_unchanged(seed, monkeypatch, model_like_pair):
    rng = np.random.default_rng(seed)
    size = int(rng.choice([32, 64, 100, 256]))
    radius = float(rng.uniform(1.5, 14.0))  # half-windows on both sides of the box-sum switch (n <= 11)
    colours = list(rng.choice(COLOUR_NAMES, int(rng.integers(1, 6)), replace=False))
    generated, source = model_like_pair(rng, size, colours, radius)
    if seed % 3 == 0:  # also plain noise against plain noise
        generated = rng.integers(0, 256, generated.shape, dtype=np.uint8)
    faster = decoding.decode_keypoints(generated, source, colours, radius=radius, stride=1)
    monkeypatch.setattr(decoding, "_colour_distance", previous_colour_distance)
    monkeypatch.setattr(decoding, "_box_sums", previous_box_sums)
    previous = decoding.decode_keypoints(generated, source, colours, radius=radius, stride=1)
    assert np.array_equal(faster, previous)
    assert (faster[:, 2] > 0).any() or seed % 3 == 0  # the decoder found disks: the inputs exercised it


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_colour_distance_and_box_sums_are_unchanged(dtype):
    rng = np.random.default_rng(5)
    image = (rng.random((37, 53, 3)) * 255).astype(dtype)
    rgb = np.asarray([COLOURS[c] for c in COLOUR_NAMES], np.float32)
    assert np.array_equal(decoding._colour_distance(image, rgb), previous_colour_distance(image, rgb))
    weights = (rng.random((3, 41, 29)) < 0.1) * rng.random((3, 41, 29)).astype(np.float32)
    for half in (6, 11, 25):
        assert np.array_equal(decoding._box_sums(weights, half), previous_box_sums(weights, half))
