"""The user's images: each one read as the model's square source, with the :class:`InputImage` it came from.

Sources are the centre square of the upright (EXIF-rotated) image resized to the model's resolution, as
``PIL.ImageOps.fit`` cuts it (:func:`idiff.data.images.load_image`); :func:`fit_box` is that square, so a task can
write its predictions in the original image's pixels.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from idiff.data.images import load_image, load_inputs
from idiff.tasks.api import InputImage

__all__ = ["fit_box", "output_names", "read_input", "read_inputs", "upright_size"]

#: EXIF orientations that swap width and height (rotations by 90 or 270 degrees, with or without a flip).
_TRANSPOSED = (5, 6, 7, 8)


def fit_box(width: int, height: int) -> tuple[float, float, float, float]:
    """The centre square ``(left, top, right, bottom)`` that ``ImageOps.fit(centering=(0.5, 0.5))`` keeps."""
    side = float(min(width, height))
    left, top = (width - side) / 2.0, (height - side) / 2.0
    return left, top, left + side, top + side


def upright_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of the image at ``path`` once its EXIF orientation is applied (read from the header)."""
    with Image.open(path) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112)
    return (height, width) if orientation in _TRANSPOSED else (width, height)


def output_names(paths: list[Path]) -> list[str]:
    """One output name per input: its stem, or ``<stem>_<suffix>`` when two inputs share the stem."""
    stems = Counter(p.stem for p in paths)
    return [p.stem if stems[p.stem] == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}" for p in paths]


def _origin(path: Path, name: str) -> InputImage:
    width, height = upright_size(path)
    return InputImage(path=str(path), name=name, width=width, height=height, box=fit_box(width, height))


def read_inputs(spec: str | None, resolution: int) -> list[tuple[InputImage, np.ndarray]]:
    """The images named by ``input`` (a file, a folder or a glob) as (origin, uint8 source (R, R, 3)) pairs."""
    loaded = load_inputs(spec, resolution)
    names = output_names([path for path, _ in loaded])
    return [(_origin(path, name), source) for (path, source), name in zip(loaded, names, strict=True)]


def read_input(path: str | Path, resolution: int) -> tuple[InputImage, np.ndarray]:
    """One image file as (origin, source); an unreadable file raises :class:`~idiff.errors.DataError`."""
    source = load_image(path, resolution)
    return _origin(Path(path), Path(path).stem), source
