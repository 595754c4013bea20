"""A small synthetic referring-expression dataset, written in the real REFER / gRefCOCO layout.

Images show 2-4 disjoint shapes (circle, square, triangle) in 8 named colours over a textured background; each
shape is one COCO annotation (polygon, or compressed RLE for every third image, so both decoding paths are
exercised) and one ref with 2-3 sentences that single it out, e.g. "the red circle", "the blue square on the
left", "the big green triangle". For ``grefcoco`` the refs also name groups ("all yellow shapes") and things the
image lacks ("the purple triangle": ``ann_id`` ``[-1]``, ``no_target`` true). Files, as
:mod:`idiff_segmentation.refer` reads them::

    <root>/images/train2014/COCO_train2014_<image_id:012d>.jpg
    <root>/<dataset>/instances.json
    <root>/<dataset>/refs(<splitBy>).p     (grefs(<splitBy>).json for grefcoco)

The refs file is written last, atomically: a dataset whose refs file exists is complete. The pickle holds only
dicts, lists, strings and numbers (what the restricted unpickler accepts). Deterministic per seed.
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from idiff.files import atomic_write_bytes, atomic_write_json
from PIL import Image, ImageDraw

from idiff_segmentation.masks import rle_from_mask
from idiff_segmentation.refer import DEFAULT_IMAGE_PATTERN, refs_path, resolve_split_by

__all__ = ["SHAPE_COLOURS", "SHAPE_KINDS", "smooth_background", "write_synthetic_refer"]

#: Shape kinds; their category ids are 1, 2, 3.
SHAPE_KINDS: tuple[str, ...] = ("circle", "square", "triangle")
#: Named shape colours (the names appear in the expressions).
SHAPE_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 45, 40),
    "green": (50, 165, 70),
    "blue": (45, 85, 215),
    "yellow": (235, 210, 50),
    "orange": (240, 140, 35),
    "purple": (135, 60, 170),
    "white": (240, 240, 235),
    "black": (30, 30, 35),
}


def smooth_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Muted gradient plus smooth and fine noise, uint8 (size, size, 3)."""
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    a = rng.uniform(0, 2 * np.pi)
    t = np.cos(a) * xx + np.sin(a) * yy
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    c0, c1 = rng.uniform(70, 190, 3), rng.uniform(70, 190, 3)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    coarse = rng.normal(0, 18, (5, 5)).astype(np.float32)
    img += np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))[..., None]
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    n = {"circle": 32, "square": 4, "triangle": 3}[kind]
    base = angle + (np.pi / 4 if kind == "square" else -np.pi / 2 if kind == "triangle" else 0.0)
    return [(cx + r * np.cos(base + 2 * np.pi * k / n), cy + r * np.sin(base + 2 * np.pi * k / n)) for k in range(n)]


def _place_shapes(rng: np.random.Generator, size: int) -> list[dict[str, Any]]:
    shapes: list[dict[str, Any]] = []
    colours, kinds = list(SHAPE_COLOURS), list(SHAPE_KINDS)
    for _ in range(int(rng.integers(2, 5))):
        if shapes and rng.random() < 0.3:  # a twin: same colour and kind, told apart by place or size
            colour, kind = shapes[0]["colour"], shapes[0]["kind"]
        else:
            colour, kind = colours[int(rng.integers(len(colours)))], kinds[int(rng.integers(len(kinds)))]
        for _attempt in range(30):
            r = rng.uniform(0.09, 0.2) * size
            cx, cy = rng.uniform(r + 1, size - r - 1, 2)
            if all(np.hypot(cx - s["cx"], cy - s["cy"]) > r + s["r"] + 2 for s in shapes):
                shapes.append(
                    {"colour": colour, "kind": kind, "cx": cx, "cy": cy, "r": r, "angle": rng.uniform(-0.3, 0.3)}
                )
                break
    return shapes


def _sentences(i: int, shapes: list[dict[str, Any]], size: int, rng: np.random.Generator) -> list[str]:
    s = shapes[i]
    name = f"{s['colour']} {s['kind']}"
    twins = [t for t in shapes if t["colour"] == s["colour"] and t["kind"] == s["kind"]]
    side = "left" if s["cx"] < size / 2 else "right"
    if len(twins) == 1:
        options = [f"the {name}", name, f"the {s['kind']} that is {s['colour']}", f"the {name} on the {side}"]
        if sum(t["kind"] == s["kind"] for t in shapes) == 1:
            options.append(f"the {s['kind']}")
    else:
        order = sorted(twins, key=lambda t: t["cx"])
        where = "left" if s is order[0] else "right" if s is order[-1] else "middle"
        place = "in the middle" if where == "middle" else f"on the {where}"
        options = [f"the {name} {place}", f"the {where} {name}"]
        radii = sorted(t["r"] for t in twins)
        if radii[-1] > 1.4 * radii[0] and s["r"] in (radii[0], radii[-1]):
            options.append(f"the {'big' if s['r'] == radii[-1] else 'small'} {name}")
    k = min(len(options), int(rng.integers(2, 4)))
    return [options[j] for j in sorted(rng.permutation(len(options))[:k])]


def _group_refs(
    shapes: list[dict[str, Any]], ann_ids: list[int], rng: np.random.Generator
) -> list[tuple[list[str], list[int]]]:
    """The gRefCOCO extras: one multi-target or one no-target expression per image."""
    colours = sorted({s["colour"] for s in shapes if sum(t["colour"] == s["colour"] for t in shapes) > 1})
    if colours and rng.random() < 0.5:
        c = colours[0]
        return [
            (
                [f"all {c} shapes", f"every {c} shape"],
                [a for a, s in zip(ann_ids, shapes, strict=True) if s["colour"] == c],
            )
        ]
    present = {(s["colour"], s["kind"]) for s in shapes}
    absent = [(c, k) for c in SHAPE_COLOURS for k in SHAPE_KINDS if (c, k) not in present]
    c, k = absent[int(rng.integers(len(absent)))]
    return [([f"the {c} {k}"], [-1])]


def _sentence_dicts(texts: list[str], first_id: int) -> list[dict[str, Any]]:
    return [{"sent_id": first_id + j, "sent": t, "raw": t, "tokens": t.split()} for j, t in enumerate(texts)]


def write_synthetic_refer(
    root: Path | str,
    dataset: str = "refcoco",
    split_by: str = "",
    num_train: int = 200,
    num_val: int = 24,
    seed: int = 0,
    image_size: int = 128,
    image_pattern: str = DEFAULT_IMAGE_PATTERN,
    val_split: str = "val",
    train_split: str = "train",
) -> Path:
    """Write a synthetic dataset of shapes and referring expressions in the REFER / gRefCOCO layout.

    Args:
        root: dataset root (``data_dir`` of the task).
        dataset: ``refcoco``, ``refcoco+``, ``refcocog`` or ``grefcoco`` (JSON refs, groups and no-targets).
        split_by: splitBy of the refs file name (``""``: the dataset's usual one).
        num_train: images of the train split.
        num_val: images of the val split.
        seed: random seed.
        image_size: square image side.
        image_pattern: image path relative to ``root`` (``{image_id}``, ``{file_name}``).
        val_split: name of the evaluation split in the refs.
        train_split: name of the training split in the refs.

    Returns:
        The refs file, written last.
    """
    root = Path(root)
    split_by = resolve_split_by(dataset, split_by)
    rng = np.random.default_rng([seed, 7])
    images, annotations, refs = [], [], []
    for image_id in range(1, num_train + num_val + 1):
        split = train_split if image_id <= num_train else val_split
        pil = Image.fromarray(smooth_background(rng, image_size))
        draw = ImageDraw.Draw(pil)
        shapes = _place_shapes(rng, image_size)
        ann_ids = []
        for s in shapes:
            poly = _polygon(s["kind"], s["cx"], s["cy"], s["r"], s["angle"])
            draw.polygon(poly, fill=SHAPE_COLOURS[s["colour"]])
            mask = Image.new("L", (image_size, image_size), 0)
            ImageDraw.Draw(mask).polygon(poly, fill=1)
            m = np.asarray(mask, dtype=bool)
            ys, xs = np.nonzero(m)
            seg: Any = rle_from_mask(m) if image_id % 3 == 0 else [[round(v, 2) for p in poly for v in p]]
            ann_id = len(annotations) + 1
            annotations.append(
                {
                    "id": ann_id,
                    "image_id": image_id,
                    "category_id": SHAPE_KINDS.index(s["kind"]) + 1,
                    "segmentation": seg,
                    "area": float(m.sum()),
                    "iscrowd": 0,
                    "bbox": [float(xs.min()), float(ys.min()), float(np.ptp(xs) + 1), float(np.ptp(ys) + 1)],
                }
            )
            ann_ids.append(ann_id)
        file_name = f"COCO_train2014_{image_id:012d}.jpg"
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=95)
        atomic_write_bytes(root / image_pattern.format(image_id=image_id, file_name=file_name), buffer.getvalue())
        images.append({"id": image_id, "file_name": file_name, "width": image_size, "height": image_size})
        targets = [(_sentences(i, shapes, image_size, rng), [a]) for i, a in enumerate(ann_ids)]
        if dataset == "grefcoco":
            targets += _group_refs(shapes, ann_ids, rng)
        for texts, ids in targets:
            ref_id = len(refs)
            cats = [annotations[a - 1]["category_id"] for a in ids if a > 0] or [-1]
            ref = {
                "ref_id": ref_id,
                "image_id": image_id,
                "split": split,
                "sentences": _sentence_dicts(texts, ref_id * 10),
                "sent_ids": [ref_id * 10 + j for j in range(len(texts))],
                "file_name": f"COCO_train2014_{image_id:012d}_{ids[0]}.jpg",
            }
            if dataset == "grefcoco":
                ref.update(ann_id=ids, category_id=cats, no_target=ids == [-1])
            else:
                ref.update(ann_id=ids[0], category_id=cats[0])
            refs.append(ref)
    categories = [{"id": k + 1, "name": kind, "supercategory": "shape"} for k, kind in enumerate(SHAPE_KINDS)]
    path = refs_path(root, dataset, split_by)
    atomic_write_json(
        path.parent / "instances.json", {"images": images, "annotations": annotations, "categories": categories}
    )
    if dataset == "grefcoco":
        atomic_write_bytes(path, json.dumps(refs).encode())
    else:
        atomic_write_bytes(path, pickle.dumps(refs, protocol=2))
    return path
