"""The editing pair every reader returns: source and target image files, the instruction, optional captions.

InstructPix2Pix stores several generations of one prompt (one per seed); a pair therefore holds one or more
``variants`` of (source, target) files, of which training picks one at random per access (as the public
``EditDataset`` does) and evaluation the first. Captions describe the source (``input_caption``) and the target
(``output_caption``) when the dataset has them; CLIP-T and the directional CLIP similarity use them.

Images are read with :func:`idiff.tasks.api.read_rgb`: a missing, truncated or corrupt file is a
:class:`~idiff.errors.DataError` naming it. :func:`fit_square` brings a pair to the run resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from idiff.tasks.api import DataError, read_rgb
from PIL import Image

__all__ = ["EditPair", "EditingDataError", "fit_square"]


class EditingDataError(DataError, ValueError):
    """An editing dataset file is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class EditPair:
    """One edit: ``variants`` of (source, target) files, the instruction and the captions when known."""

    name: str
    variants: tuple[tuple[Path, Path], ...]
    instruction: str
    input_caption: str = ""
    output_caption: str = ""

    def load(self, variant: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(source, target)`` uint8 (H, W, 3) of variant ``variant``; a size mismatch names both files."""
        source_file, target_file = self.variants[variant]
        source, target = read_rgb(source_file), read_rgb(target_file)
        if source.shape != target.shape:
            raise EditingDataError(
                f"{source_file}: {source.shape[1]}x{source.shape[0]} but its edited image {target_file} is "
                f"{target.shape[1]}x{target.shape[0]}"
            )
        return source, target


def fit_square(image: np.ndarray, size: int, offset: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """Resize so the short side is ``size`` (Lanczos) and cut a ``size`` square.

    ``offset`` = (x, y) in [0, 1] places the square along the long side: (0.5, 0.5) is the centre crop; training
    passes a random offset (the same for source and target, so the pair stays aligned).
    """
    h, w = image.shape[:2]
    scale = size / min(h, w)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    if (new_w, new_h) != (w, h):
        image = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.LANCZOS), dtype=np.uint8)
    x = round(offset[0] * (new_w - size))
    y = round(offset[1] * (new_h - size))
    return np.ascontiguousarray(image[y : y + size, x : x + size])
