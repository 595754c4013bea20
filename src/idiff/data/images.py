"""Reading images safely: any file a dataset or a user hands over, in any mode, without crashing or exploding.

:func:`read_rgb` is what every reader uses (the task plugins through :mod:`idiff.tasks.api`, ``idiff predict``
through :func:`load_inputs`):

- every Pillow mode becomes uint8 RGB (16-bit greyscale ``I;16`` is scaled, not clipped; alpha is dropped);
- a missing, truncated, corrupt or unrecognised file raises :class:`~idiff.errors.DataError` naming the file;
- an image with more than ``max_pixels`` pixels is refused from its header, before it is decoded (the
  decompression-bomb guard; Pillow's own limit, ``Image.MAX_IMAGE_PIXELS``, by default);
- EXIF orientation: a user's photo is turned upright. An annotated image is read in the orientation its annotation
  describes: with ``expected_size`` the stored pixels are kept when they have that size (annotation tools of the
  COCO era ignored EXIF), the upright view is taken when only it has that size, and any other size is an error.
"""

from __future__ import annotations

import glob
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from idiff.errors import ConfigError, DataError

__all__ = ["IMAGE_SUFFIXES", "SIXTEEN_BIT_MODES", "load_image", "load_inputs", "open_image", "read_rgb", "to_rgb"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
#: Pillow modes of 16-bit greyscale images, scaled to 8 bits by :func:`to_rgb`.
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def open_image(path: str | Path, max_pixels: int | None = None) -> Image.Image:
    """The decoded image at ``path`` (pixels loaded, file closed); raises :class:`DataError` naming the file.

    Args:
        path: the image file.
        max_pixels: refuse images with more pixels (from the header, before decoding); None: Pillow's
            ``Image.MAX_IMAGE_PIXELS``.
    """
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is checked below
            with Image.open(path) as image:
                width, height = image.size
                if limit and width * height > limit:
                    raise DataError(
                        f"{path}: image is {width} x {height} = {width * height} pixels, above the limit of {limit} "
                        "(decompression-bomb guard)"
                    )
                image.load()
                return image
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except Image.DecompressionBombError as err:
        raise DataError(f"{path}: {err} (decompression-bomb guard)") from None
    except Exception as err:  # noqa: BLE001 - Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error...
        raise DataError(f"{path}: cannot read image ({type(err).__name__}: {err})") from None


def to_rgb(image: Image.Image) -> np.ndarray:
    """uint8 (H, W, 3) RGB of a Pillow image of any mode (16-bit greyscale scaled by 1/257, alpha dropped)."""
    if image.mode in SIXTEEN_BIT_MODES:
        grey = (np.asarray(image, dtype=np.uint32) + 128) // 257
        return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)
    if image.mode not in ("RGB", "L", "P", "RGBA", "LA", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "I", "F"):
        image = image.convert("RGBA")  # e.g. premultiplied "RGBa" / "La": Pillow converts these only via RGBA
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_rgb(
    path: str | Path, expected_size: tuple[int, int] | None = None, max_pixels: int | None = None,
    size_source: str = "its annotation's 'width' x 'height'",
) -> np.ndarray:
    """uint8 (H, W, 3) RGB of the image at ``path``; raises :class:`DataError` naming the file.

    Args:
        path: the image file.
        expected_size: ``(width, height)`` the annotation gives; picks the EXIF orientation that matches it (see the
            module docstring) and refuses an image of another size. None: turn the image upright.
        max_pixels: the decompression-bomb limit (see :func:`open_image`).
        size_source: what ``expected_size`` comes from, for the message.
    """
    image = open_image(path, max_pixels)
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a corrupt EXIF block: keep the stored orientation
        upright = image
    if expected_size is not None:
        expected = (int(expected_size[0]), int(expected_size[1]))
        if image.size == expected:
            upright = image
        elif upright.size != expected:
            width, height = image.size
            raise DataError(f"{path}: image is {width} x {height}, but {size_source} is {expected[0]} x {expected[1]}")
    return to_rgb(upright)


def load_image(path: str | Path, resolution: int) -> np.ndarray:
    """RGB uint8 (resolution, resolution, 3): EXIF-rotated, centre-cropped to a square, resized."""
    image = Image.fromarray(read_rgb(path))
    return np.asarray(ImageOps.fit(image, (resolution, resolution), Image.Resampling.BICUBIC))


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
