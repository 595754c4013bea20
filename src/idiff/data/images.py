"""Reading user images for ``idiff predict``: a file, a folder or a glob, centre-cropped to the model's size."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from idiff.errors import ConfigError, DataError

__all__ = ["IMAGE_SUFFIXES", "load_image", "load_inputs"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def load_image(path: str | Path, resolution: int) -> np.ndarray:
    """RGB uint8 (resolution, resolution, 3): EXIF-rotated, centre-cropped to a square, resized."""
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            return np.asarray(ImageOps.fit(image, (resolution, resolution), Image.Resampling.BICUBIC))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise DataError(f"{path}: cannot read image ({type(err).__name__}: {err})") from err


def load_inputs(spec: str | None, resolution: int) -> list[tuple[Path, np.ndarray]]:
    """Images named by ``input``: one file, every image in a folder, or a glob pattern."""
    if not spec:
        raise ConfigError("predict needs input=PATH (an image, a folder or a glob)")
    path = Path(spec)
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    elif path.is_file():
        paths = [path]
    else:
        paths = sorted(Path(p) for p in glob.glob(spec) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ConfigError(f"input={spec}: no images found (allowed suffixes: {', '.join(IMAGE_SUFFIXES)})")
    return [(p, load_image(p, resolution)) for p in paths]
