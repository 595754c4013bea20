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

from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

__all__ = ["mask_from_rle", "resize_image", "resize_mask", "rle_from_mask", "rle_runs", "segmentation_mask"]


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
        ValueError: the field has none of the three forms, holds non-numbers, has no polygon of 3 or more points,
            lies wholly outside the image or has points farther outside than the image's size, or is an RLE of
            another size than the image (the caller adds the file and annotation id).
    """
    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0]
        if not polygons:
            raise ValueError("'segmentation' has no polygon of 3 or more (x, y) points")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for p in polygons for v in p):
            raise ValueError("'segmentation' polygons hold values that are not numbers")
        points = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons])
        if not np.isfinite(points).all():
            raise ValueError("'segmentation' polygons hold NaN or infinite values")
        if points[:, 0].max() <= 0 or points[:, 1].max() <= 0 or points[:, 0].min() >= width or \
                points[:, 1].min() >= height:
            raise ValueError(f"'segmentation' lies wholly outside its image ({width} x {height})")
        # pycocotools rasterises the polygon's whole extent in C (huge coordinates overflow it or exhaust memory):
        # points may stray outside the image, where the mask is clipped, by at most the image's own size.
        if (np.abs(points[:, 0] - width / 2) > 1.5 * width).any() or \
                (np.abs(points[:, 1] - height / 2) > 1.5 * height).any():
            raise ValueError(f"'segmentation' has points far outside its image ({width} x {height}): allowed x in "
                             f"[{-width}, {2 * width}], y in [{-height}, {2 * height}]")
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        if list(segmentation["size"]) != [height, width]:
            raise ValueError(f"'segmentation' RLE 'size' {segmentation['size']} is not its image's [{height}, {width}]")
        counts = segmentation["counts"]
        try:
            if isinstance(counts, list):
                if not all(type(c) is int and c >= 0 for c in counts) or sum(counts) != height * width:
                    raise ValueError("counts")
                rle = mask_utils.frPyObjects(segmentation, height, width)
            elif isinstance(counts, (str, bytes)):
                text = counts.encode("ascii") if isinstance(counts, str) else counts
                runs = rle_runs(text)
                if min(runs, default=0) < 0 or sum(runs) != height * width:
                    raise ValueError("counts")
                rle = {"size": [height, width], "counts": text}
            else:
                raise ValueError("counts")
            mask = mask_from_rle(rle)
        except (ValueError, TypeError, UnicodeError):
            raise ValueError(f"'segmentation' RLE 'counts' is not a valid run-length encoding of {height} x {width} "
                             "pixels") from None
        if mask.shape != (height, width):
            raise ValueError(f"'segmentation' RLE decodes to {mask.shape}, not its image's ({height}, {width})")
        return mask
    else:
        raise ValueError("'segmentation' is neither a list of polygons nor an RLE dict with 'counts' and 'size'")
    return mask_from_rle(rle)


def rle_runs(counts: bytes) -> list[int]:
    """The run lengths of a compressed RLE string, decoded as pycocotools' ``rleFrString`` does.

    pycocotools does not check a string before decoding it (a bad one yields a mask of uninitialised memory), so
    :func:`segmentation_mask` checks the runs first: non-negative, summing to the image's pixel count.

    Raises:
        ValueError: a character outside the encoding's range, or a string that ends inside a number.
    """
    runs: list[int] = []
    p = 0
    while p < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if p >= len(counts):
                raise ValueError("RLE string ends inside a number")
            c = counts[p] - 48
            if not 0 <= c < 64:
                raise ValueError("RLE string holds a character outside '0'..'o'")
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            p += 1
            shift += 5
            if not more and c & 0x10:
                value -= 1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def mask_from_rle(rle: dict[str, Any]) -> np.ndarray:
    """Decode one compressed RLE to a boolean mask."""
    return mask_utils.decode(rle).astype(bool)


def rle_from_mask(mask: np.ndarray) -> dict[str, Any]:
    """Compressed RLE of a boolean mask, JSON-ready (``counts`` as a string)."""
    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}
