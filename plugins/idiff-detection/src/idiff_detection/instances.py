"""Reader for COCO object-detection annotations ("instances") in the real COCO layout.

Layout (cocodataset.org/#format-data, "Object Detection")::

    <root>/annotations/instances_<split>.json     # images, annotations, categories
    <root>/<split>/<file_name>                     # e.g. <root>/val2017/000000000139.jpg

An annotation has ``id``, ``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]`` (pixels, top-left origin),
``area``, ``iscrowd`` and usually a ``segmentation`` (polygons or RLE). Crowd annotations are regions COCOeval
ignores; they are never marked in a target and never requested.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from idiff.errors import DataError
from PIL import Image
from pycocotools.coco import COCO

__all__ = [
    "DEFAULT_ANNOTATION_PATTERN",
    "CocoInstancesError",
    "ImageEntry",
    "InstancesDataset",
    "ObjectInstance",
    "load_coco_instances",
    "read_rgb",
]

#: Annotation file relative to the dataset root; ``{split}`` is replaced by the split name.
DEFAULT_ANNOTATION_PATTERN = "annotations/instances_{split}.json"


class CocoInstancesError(DataError, ValueError):
    """A COCO instances file or image is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class ObjectInstance:
    """One annotated object: its COCO annotation id, category, ``bbox`` ``(x, y, w, h)`` and crowd flag."""

    ann_id: int
    category_id: int
    bbox: tuple[float, float, float, float]
    iscrowd: bool = False


@dataclass
class ImageEntry:
    """One image of a split and its objects (crowd regions included)."""

    image_id: int
    path: Path
    width: int
    height: int
    objects: list[ObjectInstance] = field(default_factory=list)

    def category_ids(self) -> list[int]:
        """Categories of the image's non-crowd objects, sorted."""
        return sorted({o.category_id for o in self.objects if not o.iscrowd})


@dataclass
class InstancesDataset:
    """The images of one split with their objects, the category names and the pycocotools index.

    Attributes:
        ann_file: the annotation JSON.
        categories: category id -> name, in file order.
        images: every image of the split, in file order.
        coco: pycocotools index over the whole file (the ground truth COCOeval scores against).
    """

    ann_file: Path
    categories: dict[int, str]
    images: list[ImageEntry]
    coco: COCO

    def region(self, obj: ObjectInstance) -> np.ndarray:
        """Boolean (H, W) pixels of ``obj`` at its image's size: its segmentation, else its box."""
        ann = self.coco.anns[obj.ann_id]
        return self.coco.annToMask(ann).astype(bool) if ann.get("segmentation") else self.box_region(obj)

    def box_region(self, obj: ObjectInstance) -> np.ndarray:
        """Boolean (H, W) pixels of ``obj``'s box at its image's size (the pixels the box overlaps)."""
        img = self.coco.imgs[self.coco.anns[obj.ann_id]["image_id"]]
        mask = np.zeros((int(img["height"]), int(img["width"])), dtype=bool)
        x, y, w, h = obj.bbox
        mask[int(np.floor(y)) : int(np.ceil(y + h)), int(np.floor(x)) : int(np.ceil(x + w))] = True
        return mask


def read_rgb(path: Path) -> np.ndarray:
    """An image file as uint8 (H, W, 3) RGB; a missing or unreadable file raises :class:`CocoInstancesError`."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (FileNotFoundError, OSError) as err:
        raise CocoInstancesError(f"{path}: image cannot be read ({type(err).__name__})") from err


def _fail(path: Path, msg: str) -> CocoInstancesError:
    return CocoInstancesError(f"{path}: {msg}")


def _check(path: Path, entry: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    for key in keys:
        if key not in entry:
            raise _fail(path, f"{what} {entry.get('id', '?')} is missing '{key}'")


def load_coco_instances(
    root: Path | str, split: str, pattern: str = DEFAULT_ANNOTATION_PATTERN, image_dir: str = "{split}"
) -> InstancesDataset:
    """Read one split of a COCO detection dataset.

    Args:
        root: dataset root.
        split: split name, e.g. ``"val2017"``.
        pattern: annotation file relative to ``root`` (``{split}`` is substituted).
        image_dir: image folder relative to ``root`` (``{split}`` is substituted).

    Raises:
        CocoInstancesError: missing file, bad JSON, missing key, bad ``bbox``, unknown image or category id.
    """
    path = Path(root) / pattern.format(split=split)
    if not path.is_file():
        raise _fail(path, "annotation file not found")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise _fail(path, f"not valid JSON ({err.msg} at line {err.lineno})") from err
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= set(data):
        raise _fail(path, "top level needs the keys 'images', 'annotations' and 'categories'")
    categories: dict[int, str] = {}
    for cat in data["categories"]:
        _check(path, cat, ("id", "name"), "category")
        categories[int(cat["id"])] = str(cat["name"])
    folder = Path(root) / image_dir.format(split=split)
    images: dict[int, ImageEntry] = {}
    for img in data["images"]:
        _check(path, img, ("id", "file_name", "width", "height"), "image")
        images[int(img["id"])] = ImageEntry(int(img["id"]), folder / img["file_name"], int(img["width"]),
                                            int(img["height"]))
    for ann in data["annotations"]:
        _check(path, ann, ("id", "image_id", "category_id", "bbox"), "annotation")
        if len(ann["bbox"]) != 4 or min(float(v) for v in ann["bbox"][2:]) <= 0:
            raise _fail(path, f"annotation {ann['id']} 'bbox' is {ann['bbox']!r}, expected [x, y, w, h], w, h > 0")
        if ann["image_id"] not in images:
            raise _fail(path, f"annotation {ann['id']} refers to unknown image_id {ann['image_id']}")
        if ann["category_id"] not in categories:
            raise _fail(path, f"annotation {ann['id']} refers to unknown category_id {ann['category_id']}")
        x, y, w, h = (float(v) for v in ann["bbox"])
        obj = ObjectInstance(int(ann["id"]), int(ann["category_id"]), (x, y, w, h), bool(ann.get("iscrowd", 0)))
        images[ann["image_id"]].objects.append(obj)
    for ann in data["annotations"]:  # COCOeval reads 'area' and 'iscrowd' of every ground-truth box
        ann.setdefault("area", float(ann["bbox"][2]) * float(ann["bbox"][3]))
        ann.setdefault("iscrowd", 0)
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return InstancesDataset(path, categories, list(images.values()), coco)
