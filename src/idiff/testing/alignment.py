"""Candidates for the human-alignment picker in the real format, without a model: for tests and demos.

:func:`write_candidates` lays out what ``idiff align generate`` writes (:mod:`idiff.alignment.records`): per source
image 20 candidate PNGs, one per guidance setting of a 5 x 4 grid (text 3-11, image 1.0-1.75), and one line of
``candidates.jsonl``. The candidates are the source tinted by a colour that depends on the setting, so each is
a distinct, real image.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from idiff.alignment.records import CANDIDATES_FILE, Candidate, CandidatesRecord, append_record
from idiff.files import atomic_write_png

__all__ = ["GUIDANCE_GRID", "write_candidates"]

#: The 20 (text, image) guidance settings of the candidates.
GUIDANCE_GRID: tuple[tuple[float, float], ...] = tuple(
    itertools.product((3.0, 5.0, 7.0, 9.0, 11.0), (1.0, 1.25, 1.5, 1.75))
)


def _source(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    base = rng.uniform(40, 215, 3)
    image = base[None, None, :] * (0.6 + 0.4 * np.stack([xx, yy, 1 - xx], axis=-1))
    cy, cx = rng.uniform(0.3, 0.7, 2) * size
    r = rng.uniform(0.12, 0.25) * size
    image[(yy * (size - 1) - cy) ** 2 + (xx * (size - 1) - cx) ** 2 <= r * r] = rng.uniform(0, 255, 3)
    return image.clip(0, 255).astype(np.uint8)


def write_candidates(root: str | Path, images: int = 3, size: int = 64, seed: int = 0) -> Path:
    """Write ``images`` sources with 20 candidates each under ``root``; returns ``root/candidates.jsonl``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    path = root / CANDIDATES_FILE
    for number in range(images):
        name = f"{number:04d}"
        source = _source(rng, size)
        atomic_write_png(root / "sources" / f"{name}.png", source)
        candidates = []
        for k, (text, image) in enumerate(GUIDANCE_GRID):
            tint = np.array([255 * (text - 3) / 8, 255 * (image - 1) / 0.75, 128], np.float64)
            candidate = (0.6 * source + 0.4 * tint).clip(0, 255).astype(np.uint8)
            relative = f"candidates/{name}/{k:02d}.png"
            atomic_write_png(root / relative, candidate)
            candidates.append(Candidate(path=relative, text_scale=text, image_scale=image, seed=seed))
        record = CandidatesRecord(image=name, source=f"sources/{name}.png", instruction="Make it look like autumn",
                                  candidates=tuple(candidates))
        append_record(path, record)
    return path
