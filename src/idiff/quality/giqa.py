"""KNN-GIQA (Gu et al., "GIQA: Generated Image Quality Assessment", ECCV 2020).

The score of an image is the sum, over its ``k`` nearest reference images in feature space, of the reciprocal L1
distance: ``score(x) = sum_{j<k} 1 / ||f(x) - f(r_(j))||_1``, as in the released ``knn_score.py``. High means the
image lies where real images are dense. Scores depend on the feature scale, so thresholds are set relative to the
reference itself: :meth:`KnnGiqa.reference_scores` scores each reference image against the others (leave one out),
and :meth:`KnnGiqa.quantile` turns "drop the worst 5 %" into a score.
"""

from __future__ import annotations

import numpy as np
import torch

from idiff.errors import ConfigError

__all__ = ["KnnGiqa"]

#: Distances below this count as this (an image identical to a reference image would score infinity).
MIN_DISTANCE = 1e-6


class KnnGiqa:
    """Score features against reference features with KNN-GIQA.

    Args:
        reference: (M, D) features of the reference images.
        k: neighbours summed over (the released code's ``--K``); at most M - 1, so leave-one-out scores exist.
        chunk: query rows per distance matrix, to bound memory on large sets.
    """

    def __init__(self, reference: np.ndarray, k: int = 5, chunk: int = 1024) -> None:
        reference = np.asarray(reference, np.float32)
        if reference.ndim != 2 or len(reference) < 2:
            raise ConfigError(f"GIQA needs at least 2 reference images, got {len(reference)}")
        if not 1 <= k < len(reference):
            limit = len(reference) - 1
            raise ConfigError(f"GIQA k={k}: must be between 1 and the number of reference images - 1 ({limit})")
        self.reference = torch.from_numpy(reference)
        self.k = int(k)
        self.chunk = int(chunk)

    def _scores(self, features: np.ndarray, leave_one_out: bool) -> np.ndarray:
        features = torch.from_numpy(np.asarray(features, np.float32))
        out = []
        for start in range(0, len(features), self.chunk):
            distances = torch.cdist(features[start : start + self.chunk], self.reference, p=1)
            if leave_one_out:
                rows = torch.arange(len(distances))
                distances[rows, rows + start] = float("inf")
            nearest = distances.topk(self.k, dim=1, largest=False).values.clamp_min(MIN_DISTANCE)
            out.append((1.0 / nearest.double()).sum(dim=1).numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """(N,) KNN-GIQA scores of (N, D) features."""
        return self._scores(features, leave_one_out=False)

    def reference_scores(self) -> np.ndarray:
        """Each reference image scored against the other reference images."""
        return self._scores(self.reference.numpy(), leave_one_out=True)

    def quantile(self, q: float) -> float:
        """The score below which a fraction ``q`` of the reference images fall (leave-one-out)."""
        if not 0.0 <= q <= 1.0:
            raise ConfigError(f"GIQA quantile {q}: must be in [0, 1]")
        return float(np.quantile(self.reference_scores(), q))
