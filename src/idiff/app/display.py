"""How the app shows small images: enlarged by a whole factor with the nearest pixel, so pixels stay pixels."""

from __future__ import annotations

import numpy as np

__all__ = ["enlarge"]


def enlarge(image: np.ndarray, min_size: int = 256) -> np.ndarray:
    """``image`` repeated ``k`` times along both axes, the smallest ``k`` that makes its longer side >= ``min_size``."""
    factor = max(1, -(-min_size // max(image.shape[:2])))
    return np.asarray(image).repeat(factor, axis=0).repeat(factor, axis=1)
