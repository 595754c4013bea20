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
from idiff.tasks.api import DataError, ErrorPolicy, dataset_file
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
        coco: the pycocotools index over the well-formed images and annotations of the keypoint categories, in COCO
            form (a converted AIC / MPII split has no COCO file): the ground truth COCOeval scores against.
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
    """The parsed JSON file at ``path``; a missing or unparsable file raises :class:`CocoKeypointsError`."""
    if not path.is_file():
        raise _fail(path, "annotation file not found")
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as err:
        raise _fail(path, f"not valid JSON ({err.msg} at line {err.lineno})") from err
    except (UnicodeDecodeError, RecursionError) as err:
        raise _fail(path, f"not valid JSON ({type(err).__name__})") from None


def _check_top_level(path: Path, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(path, "top level is not a JSON object")
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise _fail(path, f"missing top-level key '{key}'")
        if not isinstance(data[key], list):
            raise _fail(path, f"top-level '{key}' is a {type(data[key]).__name__}, expected a list")
    return data


def _numbers(path: Path, where: str, key: str, value: Any, count: int) -> np.ndarray:
    """``count`` finite numbers from field ``key`` of record ``where``; else an error naming both."""
    if not isinstance(value, list):
        raise _fail(path, f"{where} '{key}' is a {type(value).__name__}, expected a list of {count} numbers")
    if len(value) != count:
        raise _fail(path, f"{where} '{key}' has {len(value)} values, expected {count}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise _fail(path, f"{where} '{key}' holds values that are not numbers")
    array = np.asarray(value, dtype=np.float64)
    if not np.isfinite(array).all():
        raise _fail(path, f"{where} '{key}' holds NaN or infinite values")
    return array


def _integer(path: Path, where: str, key: str, value: Any, minimum: int | None = None) -> int:
    if type(value) is not int or (minimum is not None and value < minimum):
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise _fail(path, f"{where} '{key}' is {value!r}, expected {expected}")
    return value


def _require(path: Path, where: str, record: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _fail(path, f"{where} is a {type(record).__name__}, expected a JSON object")
    for key in keys:
        if key not in record:
            raise _fail(path, f"{where} is missing '{key}'")
    return record


def _joint_names(cat: dict[str, Any]) -> list[str]:
    return [normalise_joint_name(str(n)) for n in cat["keypoints"]]


def _pick_categories(path: Path, data: dict[str, Any], category_id: int | None) -> list[dict[str, Any]]:
    """The keypoint categories to read: the one asked for, else every category with the first one's joints.

    AP-10K, for one, has a category per species, all with the same 17 joints.
    """
    cats = [c for c in data["categories"] if isinstance(c, dict)]
    if category_id is not None:
        match = [c for c in cats if c.get("id") == category_id]
        if not match:
            raise _fail(path, f"no category with id {category_id} in 'categories'")
        if "keypoints" not in match[0]:
            raise _fail(path, f"category {category_id} has no 'keypoints' key")
        picked = match[:1]
    else:
        with_kp = [c for c in cats if "keypoints" in c]
        if not with_kp:
            raise _fail(path, "no category has a 'keypoints' key (not a keypoint annotation file?)")
        if not isinstance(with_kp[0]["keypoints"], list):
            raise _fail(path, f"category {with_kp[0].get('id')!r} 'keypoints' is not a list of joint names")
        first = _joint_names(with_kp[0])
        picked = [c for c in with_kp if isinstance(c["keypoints"], list) and _joint_names(c) == first]
    for cat in picked:
        _integer(path, "the keypoint category", "id", cat.get("id"))
    return picked


@dataclass(frozen=True)
class _Image:
    path: Path
    size: tuple[int, int]  # (0, 0) where the format does not record it


def _image_entry(path: Path, index: int, img: Any, img_root: Path, sized: bool) -> tuple[int, _Image]:
    img = _require(path, f"image entry #{index}", img, ("id", "file_name", "width", "height"))
    where = f"image {img['id']!r}"
    image_id = _integer(path, where, "id", img["id"], 0)
    least = 1 if sized else 0
    size = (_integer(path, where, "width", img["width"], least), _integer(path, where, "height", img["height"], least))
    return image_id, _Image(dataset_file(img_root, img["file_name"], f"{path}: {where} 'file_name'"), size)

def _person(
    path: Path, ann: dict[str, Any], k: int, images: dict[int, _Image], min_keypoints: int, min_box_size: float
) -> PersonInstance | None:
    """The annotation as a kept person; None when it is filtered out (crowd, too few joints, tiny box)."""
    where = f"annotation {ann['id']!r}"
    ann_id = _integer(path, where, "id", ann["id"], 0)
    kpts = _numbers(path, where, "keypoints", ann["keypoints"], 3 * k).reshape(k, 3)
    if not np.isin(kpts[:, 2], (0, 1, 2)).all():
        raise _fail(path, f"{where} 'keypoints' has visibility flags other than 0, 1, 2")
    x, y, w, h = (float(v) for v in _numbers(path, where, "bbox", ann["bbox"], 4))
    image_id = ann["image_id"]
    if type(image_id) is not int or image_id not in images:
        raise _fail(path, f"{where} refers to unknown image_id {image_id!r}")
    image = images[image_id]
    area = _numbers(path, where, "area", [ann.get("area", w * h)], 1)[0]
    if ann.get("iscrowd", 0) not in (0, 1) or isinstance(ann.get("iscrowd", 0), float):
        raise _fail(path, f"{where} 'iscrowd' is {ann['iscrowd']!r}, expected 0 or 1")
    if ann.get("iscrowd", 0):
        return None
    if int((kpts[:, 2] > 0).sum()) < min_keypoints:
        return None
    if w < 0 or h < 0:
        raise _fail(path, f"{where} 'bbox' has a negative width or height: {[x, y, w, h]}")
    if w == 0 or h == 0:
        raise _fail(path, f"{where} 'bbox' is empty (width or height 0): {[x, y, w, h]}")
    if all(image.size) and (x >= image.size[0] or y >= image.size[1] or x + w <= 0 or y + h <= 0):
        raise _fail(path, f"{where} 'bbox' {[x, y, w, h]} lies outside its image ({image.size[0]} x {image.size[1]})")
    if w < min_box_size or h < min_box_size:
        return None
    return PersonInstance(
        image_path=image.path,
        image_id=image_id,
        ann_id=ann_id,
        category_id=int(ann["category_id"]),
        bbox=(x, y, w, h),
        keypoints=kpts,
        area=float(area),
        image_size=image.size,
    )


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
    errors: ErrorPolicy | None = None,
    **options: Any,
) -> KeypointsDataset:
    """Read one split of a COCO keypoint dataset (COCO, CrowdPose, AP-10K, HumanArt: all use this format).

    Args:
        root: dataset root.
        split: split name, e.g. ``"train2017"``.
        pattern: annotation file relative to ``root`` (``{split}`` is substituted).
        image_dir: image folder relative to ``root`` (``{split}`` is substituted).
        errors: the run's ``data.on_error`` policy; None raises.
        **options: ``category_id``, ``sigmas``, ``min_keypoints``, ``min_box_size``, ``layout`` of
            :func:`keypoints_dataset`.

    Raises:
        CocoKeypointsError: unreadable file, missing top-level key or keypoint category, a bad record (under
            ``raise``), or no person left.
        LayoutError: the category does not fit ``layout``.
    """
    path = annotation_path(root, split, pattern)
    data = read_annotation_json(path)
    return keypoints_dataset(data, path, Path(root) / image_dir.format(split=split), errors=errors, **options)


def keypoints_dataset(
    data: Any,
    path: Path,
    img_root: Path,
    category_id: int | None = None,
    sigmas: list[float] | None = None,
    min_keypoints: int = 1,
    min_box_size: float = 1.0,
    layout: str = "auto",
    errors: ErrorPolicy | None = None,
    sized: bool = True,
) -> KeypointsDataset:
    """The persons of a COCO keypoint dict (read from ``path``, or converted from another format).

    Crowd annotations (``iscrowd=1``), persons with fewer than ``min_keypoints`` labelled joints and
    boxes narrower or shorter than ``min_box_size`` pixels (but not empty) are left out, as the field does.
    A malformed image entry or annotation (missing or misspelt key, wrong keypoint count, visibility other
    than 0/1/2, negative, empty or outside box, unknown image, ``file_name`` outside the dataset root) raises,
    or under ``errors`` with ``on_error=skip`` is skipped and counted (an image entry with its persons).

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
        errors: the run's ``data.on_error`` policy; None raises.
        sized: whether the image entries record ``width`` / ``height`` (>= 1, boxes checked against them);
            AIC and MPII do not (their converted entries hold 0 x 0).
    """
    errors = errors or ErrorPolicy()
    data = _check_top_level(path, data)
    cats = _pick_categories(path, data, category_id)
    kp_layout = resolve_layout(cats[0], layout, sigmas, source=str(path))
    k = kp_layout.num_joints
    cids = {c["id"] for c in cats}
    images: dict[int, _Image] = {}
    clean: dict[str, Any] = {"images": [], "annotations": [], "categories": cats}  # the ground truth COCOeval sees
    for index, img in enumerate(data["images"]):
        with errors.guard():
            image_id, image = _image_entry(path, index, img, img_root, sized)
            images[image_id] = image
            clean["images"].append(img)
    instances: list[PersonInstance] = []
    for index, ann in enumerate(data["annotations"]):
        with errors.guard():
            if isinstance(ann, dict) and ann.get("category_id") not in cids:
                continue
            ann = _require(path, f"annotation #{index}", ann, ("id", "image_id", "keypoints", "bbox"))
            person = _person(path, ann, k, images, min_keypoints, min_box_size)
            if person is not None:
                instances.append(person)
            labelled = int((np.asarray(ann["keypoints"][2::3]) > 0).sum())
            width, height = ann["bbox"][2:]
            clean["annotations"].append({**ann, "num_keypoints": labelled, "iscrowd": int(ann.get("iscrowd", 0)),
                                         "area": float(ann.get("area", width * height))})
    errors.require(len(instances), f"{path}: persons with labelled keypoints")
    return KeypointsDataset(
        ann_file=path,
        image_dir=img_root,
        layout=kp_layout,
        category_id=int(cats[0]["id"]),
        instances=instances,
        coco=_load_index(clean),
    )
