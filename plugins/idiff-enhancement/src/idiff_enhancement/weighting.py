"""Per-dataset sample weights inside one task (PAPER.md "Encodings": GoPro 2.0, REDS 0.2, SIDD 20, CLWD 0.2).

A task such as ``deblur`` trains on several datasets, each with its own weight w: a dataset of N pairs contributes
``round(w * N)`` (at least 1) items to the task's training dataset, as the public code's ``sample_weight`` sets a
dataset's length to ``N * w``. Item j of a dataset with L items maps to

- pair ``floor(j * N / L)`` when L >= N (every pair appears ``floor(w)`` or ``ceil(w)`` times), or
- a pair drawn uniformly from the j-th of L equal blocks ``[floor(j N / L), floor((j + 1) N / L))`` when L < N, so
  every pair keeps probability ``L / N ~ w`` of being seen per pass (a fresh draw at each access).

The core's mixture (``data.mixture.<task>``) then weights the task as a whole: a dataset's samples per epoch are
``data.mixture.<task> x w x N``, so with the task's mixture weight 1.0 the paper's weights hold as given.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

__all__ = ["WeightedIndex"]


class WeightedIndex:
    """Maps an index over the weighted concatenation of datasets to ``(dataset, pair)``.

    Args:
        sizes: number of pairs N of each dataset (each >= 1).
        weights: sample weight w of each dataset (each > 0).
    """

    def __init__(self, sizes: Sequence[int], weights: Sequence[float]) -> None:
        if len(sizes) != len(weights) or not sizes:
            raise ValueError(f"{len(sizes)} dataset sizes but {len(weights)} weights")
        if min(sizes) < 1 or not min(weights) > 0:
            raise ValueError(f"dataset sizes must be >= 1 and weights > 0, got {list(sizes)} and {list(weights)}")
        self.sizes = [int(n) for n in sizes]
        self.lengths = [max(1, round(float(w) * n)) for w, n in zip(weights, self.sizes, strict=True)]
        self.offsets = np.cumsum([0, *self.lengths]).tolist()

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, index: int, rng: np.random.Generator) -> tuple[int, int]:
        """``(dataset, pair)`` of item ``index``; ``rng`` draws within a block for down-weighted datasets."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        part = bisect.bisect_right(self.offsets, index) - 1
        j, n, length = index - self.offsets[part], self.sizes[part], self.lengths[part]
        if length >= n:
            return part, j * n // length
        low, high = j * n // length, (j + 1) * n // length
        return part, int(rng.integers(low, high))
