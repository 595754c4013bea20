"""Keypoints on the user's own images: the structured request and the COCO files of the answers.

``idiff predict task=keypoints request.joints=[nose,left_wrist]`` treats each image as one person crop (top-down,
PAPER.md "Evaluation protocols": the person box is given, here the whole centre square). The named joints are asked
for ``max_keypoints_per_instruction`` at a time, each in its own colour, with the task's templates. Answers are
written in the COCO keypoint formats (cocodataset.org/#format-data, #format-results), in the image's own pixels:

- ``keypoints.json``: a COCO keypoints file, one image and one person annotation per input
  (``keypoints`` ``[x, y, v]`` with ``v=2`` for a found joint, ``0, 0, 0`` for one not found or not asked);
- ``keypoints_results.json``: the same persons in the results format (``[x, y, score]``), image ids of the above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from idiff.errors import ConfigError
from idiff.files import atomic_write_json
from idiff.tasks.api import EditRequest

from idiff_keypoints.encoding import COLOUR_NAMES, colour_rgb
from idiff_keypoints.evaluation import merge_views, person_result
from idiff_keypoints.layouts import KeypointLayout, human_readable
from idiff_keypoints.templates import KEYPOINT_TEMPLATES, build_instruction

__all__ = ["KeypointsRequest", "keypoint_requests", "resolve_joints", "views_mirrored", "write_coco_predictions"]


@dataclass
class KeypointsRequest:
    """Which joints to find: ``request.joints=[nose,left_wrist] request.colours=[red,blue] request.template=0``.

    Attributes:
        joints: joint names of the layout (``left_wrist`` or ``left wrist``); empty = every joint.
        colours: one distinct colour per joint; empty = red, green, blue, ... within each instruction.
        template: index of the instruction template (``idiff_keypoints.templates.KEYPOINT_TEMPLATES``).
    """

    joints: list[str] = field(default_factory=list)
    colours: list[str] = field(default_factory=list)
    template: int = 0


def _key(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def resolve_joints(names: Sequence[str], layout: KeypointLayout) -> list[int]:
    """Joint indices of ``names`` (any of ``left_wrist``, ``left wrist``, ``Left-Wrist``); empty = all joints.

    Raises:
        ConfigError: an unknown or repeated name, naming the allowed ones.
    """
    if not names:
        return list(range(layout.num_joints))
    index = {_key(n): i for i, n in enumerate(layout.names)}
    joints: list[int] = []
    for name in names:
        if _key(name) not in index:
            raise ConfigError(f"request.joints: unknown joint {name!r}; allowed: {', '.join(layout.names)}")
        if index[_key(name)] in joints:
            raise ConfigError(f"request.joints: joint {name!r} is named twice")
        joints.append(index[_key(name)])
    return joints


def _colours(request: KeypointsRequest, count: int) -> list[str] | None:
    if not request.colours:
        return None
    if len(request.colours) != count:
        raise ConfigError(f"request.colours: {len(request.colours)} colours for {count} joints; give one per joint")
    for colour in request.colours:
        try:
            colour_rgb(colour)
        except ValueError as err:
            raise ConfigError(f"request.colours: {err}") from None
    if len(set(request.colours)) != count:
        raise ConfigError(f"request.colours: colours must be distinct, got {', '.join(request.colours)}")
    return list(request.colours)


def views_mirrored(samples: int, flip: bool) -> list[bool]:
    """Whether each view of a request is of the mirrored image: ``samples`` unmirrored, then as many mirrored when
    ``flip`` (the task's ``test_samples`` and ``flip_test``); a view's index is its ``meta["view"]``."""
    return [False] * samples + [True] * (samples * flip)


def keypoint_requests(
    source: np.ndarray, request: KeypointsRequest, layout: KeypointLayout, max_per_instruction: int, radius: float,
    flip: bool = False, samples: int = 1,
) -> list[EditRequest]:
    """The requests asking for ``request.joints`` on one image, ``max_per_instruction`` joints each.

    Each is asked ``samples`` times, and as often again of the mirrored image (each joint's mirror image named)
    when ``flip``: the task's ``flip_test`` and ``test_samples``; ``meta["view"]`` numbers the views.
    """
    joints = resolve_joints(request.joints, layout)
    colours = _colours(request, len(joints))
    if not 0 <= request.template < len(KEYPOINT_TEMPLATES):
        raise ConfigError(f"request.template: {request.template} is not in 0..{len(KEYPOINT_TEMPLATES) - 1}")
    mirror = layout.flip_permutation()
    mirrored = np.ascontiguousarray(np.asarray(source)[:, ::-1]) if flip else source
    requests = []
    for view, flipped in enumerate(views_mirrored(samples, flip)):
        for start in range(0, len(joints), max_per_instruction):
            chunk = joints[start : start + max_per_instruction]
            names = colours[start : start + len(chunk)] if colours else list(COLOUR_NAMES[: len(chunk)])
            asked = [int(mirror[j]) for j in chunk] if flipped else chunk
            instruction = build_instruction([human_readable(layout.names[j]) for j in asked], names, request.template)
            meta = {"joints": chunk, "colours": names, "radius": radius, "num_joints": layout.num_joints,
                    "view": view, "flipped": flipped}
            requests.append(EditRequest(source=mirrored if flipped else source, instruction=instruction, meta=meta))
    return requests


def write_coco_predictions(
    requests: list[EditRequest], predictions: list[Any], out_dir: Path, layout: KeypointLayout, resolution: int
) -> list[Path]:
    """Write ``keypoints.json`` and ``keypoints_results.json`` (module docstring) for the inputs of ``requests``.

    The answers of several views of one image (``keypoint_requests``' ``flip`` and ``samples``) are merged per
    joint (:func:`~idiff_keypoints.evaluation.merge_views`); a mirrored view's points are mirrored back first.
    """
    views = 1 + max((int(r.meta.get("view", 0)) for r in requests), default=0)
    persons: dict[str, dict[str, Any]] = {}
    for request, prediction in zip(requests, predictions, strict=True):
        origin = request.origin
        if origin is None:
            raise ValueError("write_coco_predictions needs requests from idiff predict (with origin)")
        if origin.name not in persons:
            persons[origin.name] = {"origin": origin, "views": np.zeros((views, layout.num_joints, 3))}
        person = persons[origin.name]
        points = np.asarray(prediction, np.float64).reshape(-1, 3).copy()
        if request.meta.get("flipped"):
            points[:, 0] = (np.asarray(request.source).shape[1] - 1) - points[:, 0]
        person["views"][request.meta.get("view", 0), request.meta["joints"]] = np.concatenate(
            [origin.image_points(points[:, :2], resolution), points[:, 2:3]], axis=1
        )
    for person in persons.values():
        person["kp"] = merge_views(person["views"])
    images, annotations, results = [], [], []
    for image_id, person in enumerate(persons.values(), start=1):
        origin, kp = person["origin"], person["kp"]
        found = kp[:, 2] > 0
        left, top, right, bottom = origin.box
        visible = np.where(found[:, None], np.concatenate([kp[:, :2], np.full((len(kp), 1), 2.0)], axis=1), 0.0)
        result = person_result(image_id, 1, kp)
        images.append({"id": image_id, "file_name": Path(origin.path).name, "width": origin.width,
                       "height": origin.height})
        annotations.append({
            "id": image_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "keypoints": [round(float(v), 3) for v in visible.reshape(-1)], "num_keypoints": int(found.sum()),
            "bbox": [round(left, 3), round(top, 3), round(right - left, 3), round(bottom - top, 3)],
            "area": round((right - left) * (bottom - top), 3), "score": result["score"],
        })
        results.append(result)
    dataset = {"images": images, "annotations": annotations, "categories": [layout.to_category()]}
    return [atomic_write_json(out_dir / "keypoints.json", dataset),
            atomic_write_json(out_dir / "keypoints_results.json", results)]
