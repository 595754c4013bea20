"""MPII Human Pose annotations in their JSON release, converted to the COCO form the rest of the plugin reads.

The JSON release (HRNet's and mmpose's ``annotations/mpii_{train,val}.json``, converted from the MATLAB file) is a
list with one record per person::

    {"image": "015601864.jpg", "center": [594.0, 257.0], "scale": 3.021046,
     "joints": [[620.0, 394.0], ... 16 of them], "joints_vis": [1, 1, ... 16 of them]}

Joints are in the ``mpii`` layout (:mod:`idiff_keypoints.catalogue`), in MATLAB's 1-based pixel coordinates;
``joints_vis`` is 1 for a labelled joint. ``center`` and ``scale`` describe the person: a square of side
``200 * scale``. As mmpose does, the centre moves down by ``15 * scale`` (to keep the feet in) and everything moves
by -1 to 0-based pixels. Converted, images get their numeric file name as id (or 1..N in file order when the names
are not all numbers; width and height 0: MPII's JSON does not record them), each person an annotation with that
square as ``bbox`` and its area as ``area`` (MPII has no segments; the area is OKS's scale). MPII's own metric,
PCKh, needs the head boxes of the MATLAB release; idiff scores MPII with OKS AP (see the catalogue's sigmas).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from idiff_keypoints.catalogue import named_layout
from idiff_keypoints.coco import CocoKeypointsError

__all__ = ["MPII_PIXEL_STD", "coco_to_mpii", "mpii_to_coco"]

#: ``scale`` is the person's size in units of 200 pixels.
MPII_PIXEL_STD = 200.0
#: Downward shift of the centre in units of ``scale`` (HRNet / mmpose), so the box does not cut the feet.
_CENTRE_SHIFT = 15.0


def _fail(path: Path, msg: str) -> CocoKeypointsError:
    return CocoKeypointsError(f"{path}: {msg}")


def _person_box(center: Any, scale: float) -> list[float]:
    side = MPII_PIXEL_STD * scale
    cx, cy = float(center[0]) - 1.0, float(center[1]) - 1.0
    if float(center[0]) != -1:
        cy += _CENTRE_SHIFT * scale
    return [cx - (side - 1) / 2, cy - (side - 1) / 2, side, side]


def mpii_to_coco(records: Any, path: Path) -> dict[str, Any]:
    """Convert the records of an MPII JSON file to a COCO keypoint dict (see the module docstring)."""
    if not isinstance(records, list):
        raise _fail(path, "top level is not a JSON list of MPII person records")
    layout = named_layout("mpii")
    k = layout.num_joints
    for i, rec in enumerate(records):
        for key in ("image", "center", "scale", "joints", "joints_vis"):
            if not isinstance(rec, dict) or key not in rec:
                hint = " (the test split has no joints: it is not labelled)" if key.startswith("joints") else ""
                raise _fail(path, f"record {i} is missing '{key}'{hint}")
        if np.shape(rec["joints"]) != (k, 2) or np.shape(rec["joints_vis"]) != (k,):
            raise _fail(path, f"record {i} ({rec['image']}) needs {k} 'joints' [x, y] and {k} 'joints_vis'")
    names = list(dict.fromkeys(str(rec["image"]) for rec in records))
    numeric = all(Path(n).stem.isdigit() for n in names) and len({int(Path(n).stem) for n in names}) == len(names)
    ids = {n: (int(Path(n).stem) if numeric else i) for i, n in enumerate(names, start=1)}
    annotations = []
    for rec in records:
        kp = np.zeros((k, 3))
        labelled = np.asarray(rec["joints_vis"], dtype=np.float64) > 0
        kp[labelled, :2] = np.asarray(rec["joints"], dtype=np.float64)[labelled] - 1.0
        kp[labelled, 2] = 2
        box = _person_box(rec["center"], float(rec["scale"]))
        annotations.append({
            "id": len(annotations) + 1, "image_id": ids[str(rec["image"])], "category_id": 1, "iscrowd": 0,
            "bbox": box, "area": box[2] * box[3], "num_keypoints": int(labelled.sum()),
            "keypoints": [float(v) for v in kp.reshape(-1)],
        })
    images = [{"id": i, "file_name": n, "width": 0, "height": 0} for n, i in ids.items()]
    return {"images": images, "annotations": annotations, "categories": [layout.to_category(1, "person")]}


def coco_to_mpii(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The MPII records of a COCO keypoint dict in the ``mpii`` layout (the inverse of :func:`mpii_to_coco`).

    Each person's box becomes the square around its centre with the longer side: ``scale = max(w, h) / 200``.
    """
    files = {img["id"]: img["file_name"] for img in data["images"]}
    records = []
    for ann in data["annotations"]:
        x, y, w, h = (float(v) for v in ann["bbox"])
        scale = max(w, h) / MPII_PIXEL_STD
        center = [x + (w - 1) / 2 + 1.0, y + (h - 1) / 2 + 1.0 - _CENTRE_SHIFT * scale]
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        labelled = kp[:, 2] > 0
        joints = np.where(labelled[:, None], kp[:, :2] + 1.0, -1.0)
        records.append({
            "image": files[ann["image_id"]], "center": center, "scale": scale,
            "joints": joints.round(3).tolist(), "joints_vis": labelled.astype(int).tolist(),
        })
    return records
