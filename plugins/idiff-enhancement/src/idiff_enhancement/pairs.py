"""Degraded / clean image pairs, the unit every enhancement reader returns.

A pair has a ``name`` (unique in its split, e.g. ``GOPR0384_11_00/000001``) and ``load()`` giving the degraded
image (the model's source) and the clean one (the target) as uint8 (H, W, 3) arrays of the same size. File pairs are
matched by file stem across two folders (``blur/000001.png`` with ``sharp/000001.png``); in-memory pairs (SIDD's
validation blocks) implement the same :class:`PairSource` protocol.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from idiff_enhancement.images import IMAGE_SUFFIXES, EnhancementDataError, read_rgb

__all__ = ["ImagePair", "PairSource", "image_files", "natural_key", "pair_folders", "require_dir", "subfolders"]


class PairSource(Protocol):
    """What the training dataset and the test requests need of a pair."""

    name: str

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """``(degraded, clean)`` uint8 (H, W, 3) arrays of equal size."""
        ...


@dataclass(frozen=True)
class ImagePair:
    """A degraded image file and its clean ground truth."""

    name: str
    degraded: Path
    clean: Path

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """Both images; a size mismatch names both files."""
        degraded, clean = read_rgb(self.degraded), read_rgb(self.clean)
        if degraded.shape != clean.shape:
            raise EnhancementDataError(
                f"{self.degraded}: {degraded.shape[1]}x{degraded.shape[0]} but its ground truth {self.clean} is "
                f"{clean.shape[1]}x{clean.shape[0]}"
            )
        return degraded, clean


def natural_key(text: str) -> list[int | str]:
    """Sort key that orders ``2.jpg`` before ``10.jpg`` (CLWD numbers its images without padding)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def require_dir(path: Path, layout: str) -> Path:
    """``path`` if it is a folder, else an error naming it and the layout expected there."""
    if not path.is_dir():
        raise EnhancementDataError(f"{path}: folder not found; expected the layout {layout}")
    return path


def image_files(folder: Path) -> dict[str, Path]:
    """Image files of ``folder`` by stem (suffixes of :data:`IMAGE_SUFFIXES`, any case), in natural order."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return {p.stem: p for p in sorted(files, key=lambda p: natural_key(p.name))}


def pair_folders(degraded_dir: Path, clean_dir: Path, layout: str, prefix: str = "") -> list[ImagePair]:
    """Pair the images of two folders by stem, e.g. ``blur/000047.png`` with ``sharp/000047.png``.

    Args:
        degraded_dir: folder of degraded images.
        clean_dir: folder of their ground truths.
        layout: the dataset layout, for error messages.
        prefix: prepended to each pair's name (e.g. the sequence folder and ``/``).

    Raises:
        EnhancementDataError: a folder is missing or empty, or a degraded image has no ground truth.
    """
    degraded = image_files(require_dir(degraded_dir, layout))
    clean = image_files(require_dir(clean_dir, layout))
    if not degraded:
        raise EnhancementDataError(f"{degraded_dir}: no images ({', '.join(IMAGE_SUFFIXES)}); expected {layout}")
    pairs = []
    for stem, path in degraded.items():
        if stem not in clean:
            raise EnhancementDataError(f"{path}: no ground-truth image {stem}.* in {clean_dir}")
        pairs.append(ImagePair(f"{prefix}{stem}", path, clean[stem]))
    return pairs


def subfolders(folder: Path) -> Sequence[Path]:
    """Sub-folders of ``folder`` in natural order (sequences, scenes)."""
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))
