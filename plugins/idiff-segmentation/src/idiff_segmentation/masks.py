"""Masks and images: COCO segmentations through pycocotools, loading, and the square resize.

COCO ``segmentation`` fields come in three forms (cocodataset.org/#format-data): a list of polygons
``[[x1, y1, x2, y2, ...], ...]``, an uncompressed RLE ``{"counts": [int, ...], "size": [h, w]}`` and a compressed
RLE ``{"counts": "string", "size": [h, w]}``. :func:`segmentation_mask` decodes all three the way pycocotools'
``COCO.annToRLE`` does (``frPyObjects`` then ``merge`` / ``decode``).

Images go to the model as a square: the whole image is resized to ``resolution x resolution`` (aspect ratio not
kept; no crop, so every pixel of every object is seen, and a predicted mask maps back by resizing it to the image's
own size). Masks are resized as coverage (bilinear on 0/1, then >= 0.5), which keeps thin parts better than
nearest-neighbour sampling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

__all__ = ["load_rgb", "mask_from_rle", "resize_image", "resize_mask", "rle_from_mask", "segmentation_mask"]


def load_rgb(path: Path | str) -> np.ndarray:
    """Read an image file as uint8 (H, W, 3) RGB; a missing file raises naming the path."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: image file not found") from None


def resize_image(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize uint8 (H, W, 3) to ``size`` (an int: square; a tuple: ``(width, height)``), bicubic."""
    wh = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if image.shape[1::-1] == wh:
        return np.asarray(image, dtype=np.uint8)
    return np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize(wh, Image.Resampling.BICUBIC), np.uint8)


def resize_mask(mask: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a boolean (H, W) mask to ``size`` (int: square; tuple: ``(width, height)``) by coverage >= 0.5."""
    wh = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    m = np.asarray(mask, dtype=bool)
    if m.shape[::-1] == wh:
        return m.copy()
    coverage = Image.fromarray(m.astype(np.float32)).resize(wh, Image.Resampling.BILINEAR)
    return np.asarray(coverage) >= 0.5


def segmentation_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """Decode a COCO ``segmentation`` (polygons, uncompressed or compressed RLE) to a boolean (H, W) mask.

    Raises:
        ValueError: the field has none of the three forms (the caller adds the file and annotation id).
    """
    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6]
        if not polygons:
            return np.zeros((height, width), dtype=bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        if isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = dict(segmentation)
            if isinstance(rle["counts"], str):
                rle["counts"] = rle["counts"].encode("ascii")
    else:
        raise ValueError("'segmentation' is neither a list of polygons nor an RLE dict with 'counts' and 'size'")
    return mask_from_rle(rle)


def mask_from_rle(rle: dict[str, Any]) -> np.ndarray:
    """Decode one compressed RLE to a boolean mask."""
    return mask_utils.decode(rle).astype(bool)


def rle_from_mask(mask: np.ndarray) -> dict[str, Any]:
    """Compressed RLE of a boolean mask, JSON-ready (``counts`` as a string)."""
    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}
