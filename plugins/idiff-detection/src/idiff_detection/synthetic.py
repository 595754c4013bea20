"""A small synthetic detection dataset of shapes, written in the real COCO instances layout.

Writes ``<root>/<split>/<%012d>.png`` and ``<root>/annotations/instances_<split>.json`` with the fields of COCO
"Object Detection" annotations: ``images`` (id, file_name, width, height), ``annotations`` (id, image_id,
category_id, ``segmentation`` as compressed RLE of the drawn pixels, ``area`` = their count, ``bbox`` = their extreme
rows and columns ``[x, y, w, h]``, iscrowd 0) and ``categories`` (circle, square, triangle, star), so the reader and
COCOeval path are those of real COCO data.

Each image shows 1-5 shapes of random kind, colour, size and rotation over a smooth gradient with noise. Shapes
keep a gap of at least 6 % of the image side (plus 2 px) to one another, so their marks stay apart down to half the
image's resolution, and several shapes of one kind are common (a detector must find them all). Deterministic per
seed and split.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
from idiff.files import atomic_write_json, atomic_write_png
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

from idiff_detection.instances import DEFAULT_ANNOTATION_PATTERN

__all__ = ["SHAPE_KINDS", "shape_outline", "write_synthetic_instances"]

#: Shape kinds, category ids 1..4 in this order.
SHAPE_KINDS: tuple[str, ...] = ("circle", "square", "triangle", "star")


def shape_outline(kind: str, cx: float, cy: float, radius: float, angle: float) -> list[tuple[float, float]]:
    """Polygon of a shape of circumradius ``radius`` centred at ``(cx, cy)``, rotated by ``angle`` radians."""
    if kind == "star":
        steps = [(k * np.pi / 5, radius if k % 2 == 0 else 0.45 * radius) for k in range(10)]
    else:
        n = {"circle": 40, "square": 4, "triangle": 3}[kind]
        steps = [(2 * np.pi * k / n, radius) for k in range(n)]
    start = angle - np.pi / 2
    return [(cx + r * np.cos(start + a), cy + r * np.sin(start + a)) for a, r in steps]


def _backdrop(rng: np.random.Generator, side: int) -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, side, dtype=np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    t = np.cos(direction) * ramp[None, :] + np.sin(direction) * ramp[:, None]
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    low, high = rng.uniform(60, 200, 3), rng.uniform(60, 200, 3)
    image = low + (high - low) * t[..., None] + rng.normal(0, 5, (side, side, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def _layout(rng: np.random.Generator, side: int) -> list[tuple[str, float, float, float]]:
    """(kind, cx, cy, radius) of 1-5 shapes at least a gap apart."""
    gap = 0.06 * side + 2
    placed: list[tuple[str, float, float, float]] = []
    for _ in range(int(rng.integers(1, 6))):
        kind = SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))] if not placed or rng.random() < 0.6 else placed[0][0]
        for _attempt in range(40):
            radius = rng.uniform(0.08, 0.2) * side
            cx, cy = rng.uniform(radius + 1, side - radius - 1, 2)
            if all(np.hypot(cx - x, cy - y) > radius + r + gap for _, x, y, r in placed):
                placed.append((kind, float(cx), float(cy), float(radius)))
                break
    return placed


def write_synthetic_instances(
    root: Path | str,
    split: str,
    num_images: int,
    seed: int = 0,
    image_size: int = 128,
    pattern: str = DEFAULT_ANNOTATION_PATTERN,
    image_dir: str = "{split}",
) -> Path:
    """Write ``num_images`` images of shapes and their COCO instances file; returns the file (written last).

    Args:
        root: dataset root.
        split: split name (substituted in ``pattern`` and ``image_dir``).
        num_images: number of images.
        seed: random seed (the split name is mixed in, so splits differ for one seed).
        image_size: square image side.
        pattern: annotation file relative to ``root``.
        image_dir: image folder relative to ``root``.
    """
    root = Path(root)
    rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id in range(1, num_images + 1):
        picture = Image.fromarray(_backdrop(rng, image_size))
        draw = ImageDraw.Draw(picture)
        for kind, cx, cy, radius in _layout(rng, image_size):
            outline = shape_outline(kind, cx, cy, radius, rng.uniform(-0.4, 0.4))
            draw.polygon(outline, fill=tuple(int(v) for v in rng.integers(20, 236, 3)))
            region = Image.new("L", (image_size, image_size), 0)
            ImageDraw.Draw(region).polygon(outline, fill=1)
            pixels = np.asarray(region, dtype=bool)
            ys, xs = np.nonzero(pixels)
            x0, y0 = float(xs.min()), float(ys.min())
            rle = mask_utils.encode(np.asfortranarray(pixels.astype(np.uint8)))
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": SHAPE_KINDS.index(kind) + 1,
                "segmentation": {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")},
                "area": float(pixels.sum()), "iscrowd": 0,
                "bbox": [x0, y0, float(xs.max()) - x0 + 1, float(ys.max()) - y0 + 1],
            })
        file_name = f"{image_id:012d}.png"
        atomic_write_png(root / image_dir.format(split=split) / file_name, np.asarray(picture))
        images.append({"id": image_id, "file_name": file_name, "width": image_size, "height": image_size})
    categories = [{"id": k + 1, "name": kind, "supercategory": "shape"} for k, kind in enumerate(SHAPE_KINDS)]
    path = root / pattern.format(split=split)
    atomic_write_json(path, {
        "info": {"description": f"idiff-detection synthetic shapes, seed {seed}", "version": "1.0"},
        "licenses": [], "images": images, "annotations": annotations, "categories": categories,
    })
    return path
