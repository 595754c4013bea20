"""Display gamma: 8-bit encoded values <-> linear light, with the gamma 2.2 GoPro's synthesis assumes.

Noise is added and motion is averaged in linear light (where photons add up), then encoded back with this curve,
as GoPro's ``blur_gamma`` and SIDD's camera pipeline do (:mod:`idiff_enhancement.synthetic_noise`,
:mod:`idiff_enhancement.synthetic_blur`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GAMMA", "to_linear", "to_uint8"]

#: Exponent of the display curve.
GAMMA = 2.2


def to_linear(image: np.ndarray) -> np.ndarray:
    """uint8 encoded values -> float64 linear light in [0, 1]."""
    return (np.asarray(image, np.float64) / 255.0) ** GAMMA


def to_uint8(linear: np.ndarray) -> np.ndarray:
    """Linear light (clipped to [0, 1]) -> rounded uint8 encoded values."""
    encoded = np.clip(np.asarray(linear, np.float64), 0.0, 1.0) ** (1.0 / GAMMA)
    return np.round(encoded * 255.0).astype(np.uint8)
