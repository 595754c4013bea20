"""Reading and writing the RGB images of the enhancement datasets; a file that cannot be read is named.

PIL opens lazily: ``Image.open`` reads the header, ``load`` decodes the pixels, so a truncated PNG or JPEG fails only
at ``load`` ("image file is truncated", or "broken PNG file" from the chunk reader). :func:`read_rgb` loads at once
and turns every such failure into :class:`EnhancementDataError` naming the file, which the CLI prints as one line.
Truncated files are never accepted half-decoded (PIL's ``LOAD_TRUNCATED_IMAGES`` stays off).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from idiff.files import atomic_write_bytes
from idiff.tasks.api import DataError
from PIL import Image

__all__ = ["IMAGE_SUFFIXES", "EnhancementDataError", "encode_image", "pad_to", "read_rgb", "write_rgb"]

#: File suffixes the folder readers take as images (case-insensitive: SIDD writes ``.PNG``).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class EnhancementDataError(DataError, ValueError):
    """An enhancement dataset file or folder is missing or unreadable; the message names it and the layout."""


def read_rgb(path: Path | str) -> np.ndarray:
    """Decode an image file completely as uint8 (H, W, 3) RGB.

    Raises:
        EnhancementDataError: the file is missing, truncated or not an image; the message names the file.
    """
    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise EnhancementDataError(f"{path}: image file not found") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise EnhancementDataError(f"{path}: unreadable image ({err})") from None


def encode_image(image: np.ndarray, suffix: str, quality: int = 95) -> bytes:
    """PNG or JPEG bytes of a uint8 (H, W, 3) or (H, W) image; ``suffix`` (``.png``, ``.jpg``) picks the format."""
    buffer = io.BytesIO()
    pil = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if suffix.lower() in (".jpg", ".jpeg"):
        pil.save(buffer, format="JPEG", quality=quality)
    else:
        pil.save(buffer, format="PNG")
    return buffer.getvalue()


def write_rgb(path: Path | str, image: np.ndarray, quality: int = 95, atomic: bool = True) -> Path:
    """Write ``image`` in the format of the path's suffix (JPEG at ``quality``, else PNG), creating folders.

    ``atomic=False`` writes in place without the fsync: for files inside a staged folder
    (:mod:`idiff_enhancement.staging`), which becomes visible only once complete.
    """
    data = encode_image(image, Path(path).suffix, quality)
    if atomic:
        return atomic_write_bytes(path, data)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Mirror-pad ``image`` at the bottom and right to at least ``height`` x ``width`` (no-op when large enough)."""
    pad_h, pad_w = max(height - image.shape[0], 0), max(width - image.shape[1], 0)
    if not pad_h and not pad_w:
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
