"""Reader for COCO person-keypoint annotations in the real COCO layout.

Layout (cocodataset.org/#format-data, "Object Keypoint" annotations)::

    <root>/annotations/person_keypoints_<split>.json
    <root>/<split>/<file_name>            # e.g. <root>/val2017/000000000139.jpg

An annotation carries ``keypoints`` as a flat list ``[x1, y1, v1, ..., xK, yK, vK]`` with visibility
``v`` = 0 (not labelled), 1 (labelled, occluded), 2 (labelled, visible); ``bbox`` is ``[x, y, w, h]``.
PAPER.md "Evaluation protocols": keypoints are evaluated top-down with ground-truth person boxes, so
every non-crowd person with at least one labelled keypoint becomes one instance.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from idiff.tasks.api import DataError
from pycocotools.coco import COCO

from idiff_keypoints.layouts import KeypointLayout

__all__ = [
    "DEFAULT_ANNOTATION_PATTERN",
    "CocoKeypointsError",
    "KeypointsDataset",
    "PersonInstance",
    "annotation_path",
    "load_coco_keypoints",
]

#: Annotation file relative to the dataset root; ``{split}`` is replaced by the split name.
DEFAULT_ANNOTATION_PATTERN = "annotations/person_keypoints_{split}.json"


class CocoKeypointsError(DataError, ValueError):
    """A COCO keypoint file is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class PersonInstance:
    """One annotated person.

    Attributes:
        image_path: absolute path of the image file.
        image_id: COCO image id.
        ann_id: COCO annotation id.
        category_id: COCO category id of the person category.
        bbox: ``(x, y, w, h)`` in image pixels.
        keypoints: float array (K, 3) of ``(x, y, v)``.
        area: annotation area (segment area in COCO; the OKS scale).
        image_size: ``(width, height)`` of the image.
    """

    image_path: Path
    image_id: int
    ann_id: int
    category_id: int
    bbox: tuple[float, float, float, float]
    keypoints: np.ndarray
    area: float
    image_size: tuple[int, int]

    @property
    def num_keypoints(self) -> int:
        """Number of labelled joints (v > 0)."""
        return int((self.keypoints[:, 2] > 0).sum())


@dataclass
class KeypointsDataset:
    """The persons of one split plus the layout and the pycocotools index.

    Attributes:
        ann_file: the annotation JSON.
        image_dir: folder holding the split's images.
        layout: keypoint layout of the person category.
        category_id: id of that category.
        instances: the persons kept (see :func:`load_coco_keypoints`).
        coco: the pycocotools index over the whole file.
    """

    ann_file: Path
    image_dir: Path
    layout: KeypointLayout
    category_id: int
    instances: list[PersonInstance]
    coco: COCO


def annotation_path(root: Path | str, split: str, pattern: str = DEFAULT_ANNOTATION_PATTERN) -> Path:
    """Path of the annotation file of ``split`` under ``root``."""
    return Path(root) / pattern.format(split=split)


def _fail(path: Path, msg: str) -> CocoKeypointsError:
    return CocoKeypointsError(f"{path}: {msg}")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise _fail(path, "annotation file not found")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise _fail(path, f"not valid JSON ({err.msg} at line {err.lineno})") from err
    if not isinstance(data, dict):
        raise _fail(path, "top level is not a JSON object")
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise _fail(path, f"missing top-level key '{key}'")
    return data


def _pick_category(path: Path, data: dict[str, Any], category_id: int | None) -> dict[str, Any]:
    cats = data["categories"]
    if category_id is not None:
        match = [c for c in cats if c.get("id") == category_id]
        if not match:
            raise _fail(path, f"no category with id {category_id} in 'categories'")
        cat = match[0]
    else:
        with_kp = [c for c in cats if "keypoints" in c]
        if not with_kp:
            raise _fail(path, "no category has a 'keypoints' key (not a keypoint annotation file?)")
        cat = with_kp[0]
    if "keypoints" not in cat:
        raise _fail(path, f"category {cat.get('id')} has no 'keypoints' key")
    return cat


def _load_index(data: dict[str, Any]) -> COCO:
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_coco_keypoints(
    root: Path | str,
    split: str,
    pattern: str = DEFAULT_ANNOTATION_PATTERN,
    image_dir: str = "{split}",
    category_id: int | None = None,
    sigmas: list[float] | None = None,
    min_keypoints: int = 1,
    min_box_size: float = 1.0,
) -> KeypointsDataset:
    """Read one split of a COCO keypoint dataset.

    Crowd annotations (``iscrowd=1``), persons with fewer than ``min_keypoints`` labelled joints and
    boxes narrower or shorter than ``min_box_size`` pixels are skipped.

    Args:
        root: dataset root.
        split: split name, e.g. ``"train2017"``.
        pattern: annotation file relative to ``root`` (``{split}`` is substituted).
        image_dir: image folder relative to ``root`` (``{split}`` is substituted).
        category_id: the keypoint category; ``None`` takes the first category with ``keypoints``.
        sigmas: OKS sigmas override (see :meth:`KeypointLayout.from_category`).
        min_keypoints: minimum number of labelled joints of a kept person.
        min_box_size: minimum bbox width and height.

    Raises:
        CocoKeypointsError: missing file or key, wrong keypoint count, unknown image id.
    """
    path = annotation_path(root, split, pattern)
    data = _read_json(path)
    cat = _pick_category(path, data, category_id)
    layout = KeypointLayout.from_category(cat, sigmas=sigmas, source=str(path))
    k = layout.num_joints
    cid = int(cat["id"])
    images = {}
    for img in data["images"]:
        for key in ("id", "file_name", "width", "height"):
            if key not in img:
                raise _fail(path, f"image entry {img.get('id', '?')} is missing '{key}'")
        images[img["id"]] = img
    img_root = Path(root) / image_dir.format(split=split)
    instances: list[PersonInstance] = []
    for ann in data["annotations"]:
        aid = ann.get("id", "?")
        if ann.get("category_id") != cid:
            continue
        for key in ("id", "image_id", "keypoints", "bbox"):
            if key not in ann:
                raise _fail(path, f"annotation {aid} is missing '{key}'")
        if len(ann["keypoints"]) != 3 * k:
            raise _fail(path, f"annotation {aid} 'keypoints' has {len(ann['keypoints'])} values, expected {3 * k}")
        if len(ann["bbox"]) != 4:
            raise _fail(path, f"annotation {aid} 'bbox' has {len(ann['bbox'])} values, expected 4")
        if ann["image_id"] not in images:
            raise _fail(path, f"annotation {aid} refers to unknown image_id {ann['image_id']}")
        if ann.get("iscrowd", 0):
            continue
        kpts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(k, 3)
        if int((kpts[:, 2] > 0).sum()) < min_keypoints:
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        if w < min_box_size or h < min_box_size:
            continue
        img = images[ann["image_id"]]
        instances.append(
            PersonInstance(
                image_path=img_root / img["file_name"],
                image_id=int(img["id"]),
                ann_id=int(ann["id"]),
                category_id=cid,
                bbox=(x, y, w, h),
                keypoints=kpts,
                area=float(ann.get("area", w * h)),
                image_size=(int(img["width"]), int(img["height"])),
            )
        )
    return KeypointsDataset(
        ann_file=path,
        image_dir=img_root,
        layout=layout,
        category_id=cid,
        instances=instances,
        coco=_load_index(data),
    )
