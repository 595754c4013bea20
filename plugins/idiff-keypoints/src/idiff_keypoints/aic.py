"""AI Challenger (AIC) keypoint annotations, converted to the COCO form the rest of the plugin reads.

Release (github.com/AIChallenger/AI_Challenger_2017, keypoint track): one JSON list per split, e.g.
``keypoint_train_annotations_20170909.json`` beside the folder ``keypoint_train_images_20170902/``. A record::

    {"image_id": "<40 hex digits>", "url": "...",
     "keypoint_annotations": {"human1": [x1, y1, v1, ..., x14, y14, v14], ...},
     "human_annotations": {"human1": [x1, y1, x2, y2], ...}}

Joints are in the ``aic`` layout (:mod:`idiff_keypoints.catalogue`); visibility is 1 visible, 2 occluded, 3 not
labelled, which become COCO's 2, 1, 0. The image is ``<image_id>.jpg``. Converted, images get the ids 1..N in file
order (width and height 0: AIC does not record them), each human an annotation with ``bbox``
``[x1, y1, x2 - x1, y2 - y1]`` and ``area`` = box area, the OKS scale of AIC's own evaluator. Unlike that
evaluator, COCOeval also scores occluded joints (COCO v=1), so AP is close to, not the same as, AIC's mAP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from idiff_keypoints.catalogue import named_layout
from idiff_keypoints.coco import CocoKeypointsError

__all__ = ["AIC_TO_COCO_VISIBILITY", "aic_to_coco", "coco_to_aic"]

#: AIC visibility (1 visible, 2 occluded, 3 not labelled) -> COCO visibility (2, 1, 0).
AIC_TO_COCO_VISIBILITY: dict[int, int] = {1: 2, 2: 1, 3: 0}


def _fail(path: Path, msg: str) -> CocoKeypointsError:
    return CocoKeypointsError(f"{path}: {msg}")


def _person(path: Path, where: str, keypoints: Any, box: Any, k: int) -> tuple[np.ndarray, list[float]]:
    if not isinstance(keypoints, list) or len(keypoints) != 3 * k:
        got = len(keypoints) if isinstance(keypoints, list) else type(keypoints).__name__
        raise _fail(path, f"{where} 'keypoint_annotations' has {got} values, expected {3 * k}")
    if not isinstance(box, list) or len(box) != 4:
        raise _fail(path, f"{where} 'human_annotations' box is {box!r}, expected [x1, y1, x2, y2]")
    kp = np.asarray(keypoints, dtype=np.float64).reshape(k, 3)
    flags = {int(v) for v in kp[:, 2]}
    if not flags <= set(AIC_TO_COCO_VISIBILITY):
        raise _fail(path, f"{where} has visibility {sorted(flags - set(AIC_TO_COCO_VISIBILITY))}, allowed 1, 2, 3")
    kp[:, 2] = [AIC_TO_COCO_VISIBILITY[int(v)] for v in kp[:, 2]]
    kp[kp[:, 2] == 0, :2] = 0.0
    x1, y1, x2, y2 = (float(v) for v in box)
    return kp, [x1, y1, x2 - x1, y2 - y1]


def aic_to_coco(records: Any, path: Path) -> dict[str, Any]:
    """Convert the records of an AIC annotation file to a COCO keypoint dict (see the module docstring)."""
    if not isinstance(records, list):
        raise _fail(path, "top level is not a JSON list of AIC records")
    layout = named_layout("aic")
    images, annotations = [], []
    for i, rec in enumerate(records, start=1):
        for key in ("image_id", "keypoint_annotations", "human_annotations"):
            if not isinstance(rec, dict) or key not in rec:
                raise _fail(path, f"record {i - 1} is missing '{key}'")
        images.append({"id": i, "file_name": f"{rec['image_id']}.jpg", "width": 0, "height": 0})
        for human, keypoints in rec["keypoint_annotations"].items():
            where = f"record {i - 1} ({rec['image_id']}) {human}"
            if human not in rec["human_annotations"]:
                raise _fail(path, f"{where} has keypoints but no box in 'human_annotations'")
            kp, bbox = _person(path, where, keypoints, rec["human_annotations"][human], layout.num_joints)
            annotations.append({
                "id": len(annotations) + 1, "image_id": i, "category_id": 1, "iscrowd": 0, "bbox": bbox,
                "area": bbox[2] * bbox[3], "num_keypoints": int((kp[:, 2] > 0).sum()),
                "keypoints": [float(v) for v in kp.reshape(-1)],
            })
    return {"images": images, "annotations": annotations, "categories": [layout.to_category(1, "person")]}


def coco_to_aic(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The AIC records of a COCO keypoint dict in the ``aic`` layout (the inverse of :func:`aic_to_coco`).

    Image ids are the file names without their extension, which must be ``.jpg`` as in the release.
    """
    to_aic = {coco: aic for aic, coco in AIC_TO_COCO_VISIBILITY.items()}
    records: dict[int, dict[str, Any]] = {}
    for img in data["images"]:
        stem, suffix = str(img["file_name"]).rsplit(".", 1)
        if suffix != "jpg":
            raise ValueError(f"AIC images are '<image_id>.jpg', not {img['file_name']!r}")
        records[img["id"]] = {"image_id": stem, "url": "", "keypoint_annotations": {}, "human_annotations": {}}
    for ann in data["annotations"]:
        rec = records[ann["image_id"]]
        human = f"human{len(rec['keypoint_annotations']) + 1}"
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        kp[:, 2] = [to_aic[int(v)] for v in kp[:, 2]]
        rec["keypoint_annotations"][human] = [int(round(v)) for v in kp.reshape(-1)]
        x, y, w, h = ann["bbox"]
        rec["human_annotations"][human] = [int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h))]
    return list(records.values())
