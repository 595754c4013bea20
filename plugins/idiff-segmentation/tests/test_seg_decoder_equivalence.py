"""The faster bilateral vote filter gives the previous one's output bit for bit (BENCHMARKS.md, "Decoders").

The previous ``similarity_mean`` (one exponential per window offset, the plain loop) and the majority filter's previous
window mean are kept here as the references;
``decode_mask`` with it swapped in, and every pixel filtered (``sparse_share=0``: none decided by its window's
votes alone), is the previous decoder.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from idiff_segmentation import decoding
from idiff_segmentation.encoding import COLOUR_NAMES, overlay_mask


def previous_similarity_mean(values: np.ndarray, guide: np.ndarray, radius: int, similarity: float) -> np.ndarray:
    h, w = values.shape
    num = np.zeros((h, w), np.float64)
    den = np.zeros((h, w), np.float64)
    vp = np.pad(values, radius)
    inside = np.pad(np.ones((h, w)), radius)
    gp = np.pad(guide, ((radius, radius), (radius, radius), (0, 0)), mode="edge")
    scale = -0.5 / (similarity * similarity)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            diff = gp[dy : dy + h, dx : dx + w] - guide
            k = np.exp(scale * np.einsum("hwc,hwc->hw", diff, diff)) * inside[dy : dy + h, dx : dx + w]
            num += k * vp[dy : dy + h, dx : dx + w]
            den += k
    return num / den


def previous_box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """The majority filter's previous window mean (integral image), over the pixels inside the image."""
    x = np.asarray(values, dtype=np.float64)
    n = 2 * radius + 1

    def window_sums(a: np.ndarray) -> np.ndarray:
        c = np.pad(a, ((radius + 1, radius), (radius + 1, radius))).cumsum(0).cumsum(1)
        return c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]

    return window_sums(x) / window_sums(np.ones_like(x))


@pytest.mark.parametrize("seed", range(40))
def test_similarity_mean_is_unchanged(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 40, 2)  # images smaller than the window included
    radius = int(rng.integers(1, 6))
    values = rng.normal(0, 0.3, (h, w)).astype(np.float32)
    guide = rng.normal(0, 40, (h, w, 3)).astype([np.float32, np.float64, np.int64][seed % 3])
    assert np.array_equal(decoding.similarity_mean(values, guide, radius, 20.0),
                          previous_similarity_mean(values, guide, radius, 20.0))


@pytest.mark.parametrize("seed", range(16))
def test_decode_mask_is_unchanged(seed, monkeypatch):
    """The previous filter over the whole image (no pixels decided by their window's votes alone)."""
    rng = np.random.default_rng(seed)
    size = int(rng.choice([32, 64, 128, 256]))
    source = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    source = np.asarray(Image.fromarray(source).resize((size, size), Image.Resampling.BILINEAR))
    mask = np.zeros((size, size), bool)
    y, x = rng.integers(0, size // 2, 2)
    mask[y : y + size // 3, x : x + size // 2] = True
    colour = str(rng.choice(COLOUR_NAMES))
    target = overlay_mask(source, mask, colour)
    blurred = np.asarray(Image.fromarray(target).filter(ImageFilter.GaussianBlur(0.8)), np.float32)
    generated = np.clip(blurred + rng.normal(0, 8, blurred.shape), 0, 255).astype(np.uint8)
    faster = decoding.decode_mask(generated, source, colour)
    monkeypatch.setattr(decoding, "similarity_mean", previous_similarity_mean)
    assert np.array_equal(faster, decoding.decode_mask(generated, source, colour, sparse_share=0.0))
    assert faster.any() and not faster.all()  # a real mask: the inputs exercised the decoder


@pytest.mark.parametrize("seed", range(24))
def test_similarity_mean_at_some_pixels_is_the_full_filter_there(seed):
    rng = np.random.default_rng(100 + seed)
    h, w = rng.integers(1, 48, 2)
    radius = int(rng.integers(1, 6))
    values = rng.normal(0, 0.3, (h, w)).astype(np.float32)
    guide = rng.normal(0, 40, (h, w, 3)).astype(np.float32)
    ys, xs = np.nonzero(rng.random((h, w)) < 0.3)
    full = decoding.similarity_mean(values, guide, radius, 20.0)
    assert np.array_equal(decoding.similarity_mean_at(values, guide, radius, 20.0, ys, xs), full[ys, xs])


@pytest.mark.parametrize("radius", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape", [(9, 13), (1, 7), (5, 1), (3, 3), (20, 11)])
def test_window_range(radius, shape):
    values = np.random.default_rng(radius).normal(size=shape).astype(np.float32)
    lo, hi = decoding.window_range(values, radius)
    for y in range(shape[0]):
        for x in range(shape[1]):
            window = values[max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1]
            assert lo[y, x] == window.min() and hi[y, x] == window.max()


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (2, 2), (17, 23), (64, 64)])
def test_majority_is_the_box_mean_decision(shape):
    for density in (0.2, 0.5, 0.8):
        marked = np.random.default_rng(int(density * 10)).random(shape) < density
        expected = previous_box_mean(marked.astype(np.float64), 1) > 0.5
        assert np.array_equal(decoding._majority(marked), expected)
