"""Reader for keypoint annotations in the real COCO layout (COCO, CrowdPose, AP-10K, HumanArt use it).

Layout (cocodataset.org/#format-data, "Object Keypoint" annotations)::

    <root>/annotations/person_keypoints_<split>.json
    <root>/<split>/<file_name>            # e.g. <root>/val2017/000000000139.jpg

An annotation carries ``keypoints`` as a flat list ``[x1, y1, v1, ..., xK, yK, vK]`` with visibility
``v`` = 0 (not labelled), 1 (labelled, occluded), 2 (labelled, visible); ``bbox`` is ``[x, y, w, h]``.
PAPER.md "Evaluation protocols": keypoints are evaluated top-down with ground-truth person boxes, so
every non-crowd person with at least one labelled keypoint becomes one instance. The AIC and MPII readers
(:mod:`idiff_keypoints.aic`, :mod:`idiff_keypoints.mpii`) convert their files to this form and share the rest.
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

from idiff_keypoints.catalogue import resolve_layout
from idiff_keypoints.layouts import KeypointLayout, normalise_joint_name

__all__ = [
    "DEFAULT_ANNOTATION_PATTERN",
    "CocoKeypointsError",
    "KeypointsDataset",
    "PersonInstance",
    "annotation_path",
    "keypoints_dataset",
    "load_coco_keypoints",
    "read_annotation_json",
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
        image_size: ``(width, height)`` of the image; ``(0, 0)`` where the format does not record it (AIC, MPII).
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
        ann_file: the annotation file as released (COCO JSON, or the AIC / MPII file it was converted from).
        image_dir: folder holding the split's images.
        layout: keypoint layout of the person category.
        category_id: id of that category (the first one where several share the layout, as AP-10K's species).
        instances: the persons kept (see :func:`load_coco_keypoints`).
        coco: the pycocotools index over the whole file in COCO form: the ground truth COCOeval scores against.
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


def read_annotation_json(path: Path) -> Any:
    """Parse an annotation file; a missing file or bad JSON raises :class:`CocoKeypointsError` naming it."""
    if not path.is_file():
        raise _fail(path, "annotation file not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise _fail(path, f"not valid JSON ({err.msg} at line {err.lineno})") from err


def _read_json(path: Path) -> dict[str, Any]:
    data = read_annotation_json(path)
    if not isinstance(data, dict):
        raise _fail(path, "top level is not a JSON object")
    return data


def _pick_categories(path: Path, data: dict[str, Any], category_id: int | None) -> list[dict[str, Any]]:
    """The keypoint categories to read: the one asked for, else every category with the first one's joints.

    AP-10K, for one, has a category per species, all with the same 17 joints.
    """
    cats = data["categories"]
    if category_id is not None:
        match = [c for c in cats if c.get("id") == category_id]
        if not match:
            raise _fail(path, f"no category with id {category_id} in 'categories'")
        if "keypoints" not in match[0]:
            raise _fail(path, f"category {category_id} has no 'keypoints' key")
        return match
    with_kp = [c for c in cats if "keypoints" in c]
    if not with_kp:
        raise _fail(path, "no category has a 'keypoints' key (not a keypoint annotation file?)")
    first = [normalise_joint_name(str(n)) for n in with_kp[0]["keypoints"]]
    return [c for c in with_kp if [normalise_joint_name(str(n)) for n in c["keypoints"]] == first]


def _load_index(data: dict[str, Any]) -> COCO:
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_coco_keypoints(
    root: Path | str, split: str, pattern: str = DEFAULT_ANNOTATION_PATTERN, image_dir: str = "{split}", **options: Any
) -> KeypointsDataset:
    """Read one split of a COCO keypoint dataset (COCO, CrowdPose, AP-10K, HumanArt: all use this format).

    Args:
        root: dataset root.
        split: split name, e.g. ``"train2017"``.
        pattern: annotation file relative to ``root`` (``{split}`` is substituted).
        image_dir: image folder relative to ``root`` (``{split}`` is substituted).
        **options: ``category_id``, ``sigmas``, ``min_keypoints``, ``min_box_size``, ``layout`` of
            :func:`keypoints_dataset`.

    Raises:
        CocoKeypointsError: missing file or key, wrong keypoint count, unknown image id.
        LayoutError: the category does not fit ``layout``.
    """
    path = annotation_path(root, split, pattern)
    return keypoints_dataset(_read_json(path), path, Path(root) / image_dir.format(split=split), **options)


def keypoints_dataset(
    data: dict[str, Any],
    path: Path,
    img_root: Path,
    category_id: int | None = None,
    sigmas: list[float] | None = None,
    min_keypoints: int = 1,
    min_box_size: float = 1.0,
    layout: str = "auto",
) -> KeypointsDataset:
    """The persons of a COCO keypoint dict (read from ``path``, or converted from another format).

    Crowd annotations (``iscrowd=1``), persons with fewer than ``min_keypoints`` labelled joints and
    boxes narrower or shorter than ``min_box_size`` pixels are skipped.

    Args:
        data: the COCO keypoint dict (``images``, ``annotations``, ``categories``).
        path: the file it came from, for error messages.
        img_root: the folder the ``file_name`` entries are relative to.
        category_id: the keypoint category; ``None`` takes every category with the joints of the first one that
            has ``keypoints`` (AP-10K's species share one layout).
        sigmas: OKS sigmas override (see :func:`idiff_keypoints.catalogue.resolve_layout`).
        min_keypoints: minimum number of labelled joints of a kept person.
        min_box_size: minimum bbox width and height.
        layout: a catalogue layout name, or ``"auto"`` (recognised from the joint names, else the file's own).
    """
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise _fail(path, f"missing top-level key '{key}'")
    cats = _pick_categories(path, data, category_id)
    kp_layout = resolve_layout(cats[0], layout, sigmas, source=str(path))
    k = kp_layout.num_joints
    cids = {int(c["id"]) for c in cats}
    images = {}
    for img in data["images"]:
        for key in ("id", "file_name", "width", "height"):
            if key not in img:
                raise _fail(path, f"image entry {img.get('id', '?')} is missing '{key}'")
        images[img["id"]] = img
    instances: list[PersonInstance] = []
    for ann in data["annotations"]:
        aid = ann.get("id", "?")
        if ann.get("category_id") not in cids:
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
                category_id=int(ann["category_id"]),
                bbox=(x, y, w, h),
                keypoints=kpts,
                area=float(ann.get("area", w * h)),
                image_size=(int(img["width"]), int(img["height"])),
            )
        )
    return KeypointsDataset(
        ann_file=path,
        image_dir=img_root,
        layout=kp_layout,
        category_id=int(cats[0]["id"]),
        instances=instances,
        coco=_load_index(data),
    )
