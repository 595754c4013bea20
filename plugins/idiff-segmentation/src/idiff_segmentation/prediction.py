"""Segmentation on the user's own images: the structured requests and the files of the answers.

``idiff predict task=referring_segmentation request.expression="the dog on the left"`` asks for one mask per image;
``idiff predict task=semantic_segmentation request.classes=[sky,grass,tree]`` asks for one mask per class and
assembles a label map (PAPER.md "Encodings" -> Segmentation: one class per instruction). Outputs are in the image's
own pixels (outside the centre square the model saw: no mask, unlabeled):

- referring: ``masks/<name>.png`` (0 / 255) and ``instances.json``, a COCO instances file with one annotation per
  input: the mask as compressed RLE and its box from the mask's extreme rows and columns (the paper's detection
  read-out), ``[x, y, width, height]``, plus the expression;
- semantic: ``labels/<name>.png`` in the COCO-Stuff layout (value k = class k of ``labels.txt``, 1-based there,
  255 = unlabeled: no class, several classes, or outside the square) and ``labels.txt``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from idiff.errors import ConfigError
from idiff.files import atomic_write_bytes, atomic_write_json, atomic_write_png
from idiff.tasks.api import EditRequest

from idiff_segmentation.config import TEST_COLOUR_MODES
from idiff_segmentation.encoding import COLOUR_NAMES, contrast_colour
from idiff_segmentation.evaluation import assemble_label_map, write_mask_png
from idiff_segmentation.labelmaps import IGNORE_INDEX
from idiff_segmentation.masks import rle_from_mask
from idiff_segmentation.templates import build_instruction, templates_for

__all__ = [
    "ReferringRequest",
    "SemanticRequest",
    "mask_box",
    "segmentation_requests",
    "write_instances",
    "write_label_maps",
]


@dataclass
class ReferringRequest:
    """What to mark: ``request.expression="the red circle" request.colour=contrast request.template=0``.

    Attributes:
        expression: the referring expression.
        colour: a colour name, ``contrast`` (among the 3 farthest from the image's pixels) or ``random``.
        template: index of the instruction template (``idiff_segmentation.templates.REFERRING_TEMPLATES``).
    """

    expression: str = ""
    colour: str = "contrast"
    template: int = 0


@dataclass
class SemanticRequest:
    """Which classes to mark: ``request.classes=[sky,grass] request.colour=contrast request.template=0``.

    Attributes:
        classes: class names, one instruction each.
        colour: a colour name, ``contrast`` or ``random`` (as for :class:`ReferringRequest`).
        template: index of the instruction template (``idiff_segmentation.templates.SEMANTIC_TEMPLATES``).
    """

    classes: list[str] = field(default_factory=list)
    colour: str = "contrast"
    template: int = 0


def _colour(mode: str, source: np.ndarray, rng: np.random.Generator) -> str:
    if mode == "contrast":
        return contrast_colour(source, np.zeros(source.shape[:2], dtype=bool), rng)
    if mode == "random":
        return COLOUR_NAMES[int(rng.integers(len(COLOUR_NAMES)))]
    if mode not in COLOUR_NAMES:
        raise ConfigError(f"request.colour: {mode!r} is not one of {', '.join(TEST_COLOUR_MODES + COLOUR_NAMES)}")
    return mode


def segmentation_requests(source: np.ndarray, request: Any, kind: str, alpha: float, seed: int) -> list[EditRequest]:
    """One request per expression (referring) or per class (semantic) on one image."""
    if kind == "referring":
        objects, key = [request.expression.strip()], "expression"
    else:
        objects, key = [c.strip() for c in request.classes], "classes"
    if not objects or not all(objects):
        wanted = "an expression" if kind == "referring" else "at least one class name"
        raise ConfigError(f"request.{key}: give {wanted}")
    count = len(templates_for(kind))
    if not 0 <= request.template < count:
        raise ConfigError(f"request.template: {request.template} is not in 0..{count - 1}")
    rng = np.random.default_rng(seed)
    requests = []
    for index, obj in enumerate(objects):
        colour = _colour(request.colour, source, rng)
        meta = {"object": obj, "class_index": index, "colour": colour, "alpha": alpha}
        requests.append(EditRequest(source=source, instruction=build_instruction(kind, obj, colour, request.template),
                                    meta=meta))
    return requests


def mask_box(mask: np.ndarray) -> list[float] | None:
    """COCO ``[x, y, width, height]`` of a mask's extreme columns and rows (pixel edges); None when empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)]


def write_instances(requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> list[Path]:
    """Referring answers: ``masks/<name>.png`` and ``instances.json`` (module docstring)."""
    images, annotations, written = [], [], []
    for image_id, (request, prediction) in enumerate(zip(requests, predictions, strict=True), start=1):
        origin = request.origin
        if origin is None:
            raise ValueError("write_instances needs requests from idiff predict (with origin)")
        mask = origin.image_map(np.asarray(prediction, dtype=bool), fill=False)
        written.append(write_mask_png(out_dir / "masks" / f"{origin.name}.png", mask))
        images.append({"id": image_id, "file_name": Path(origin.path).name, "width": origin.width,
                       "height": origin.height})
        box = mask_box(mask)
        annotations.append({
            "id": image_id, "image_id": image_id, "category_id": 1, "iscrowd": 0, "segmentation": rle_from_mask(mask),
            "area": int(mask.sum()), "bbox": box or [0.0, 0.0, 0.0, 0.0], "expression": request.meta["object"],
            "mask_file": f"masks/{origin.name}.png",
        })
    categories = [{"id": 1, "name": "object", "supercategory": "object"}]
    written.append(atomic_write_json(out_dir / "instances.json",
                                     {"images": images, "annotations": annotations, "categories": categories}))
    return written


def write_label_maps(requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> list[Path]:
    """Semantic answers: ``labels/<name>.png`` and ``labels.txt`` (module docstring)."""
    by_image: dict[str, list[tuple[EditRequest, Any]]] = {}
    for request, prediction in zip(requests, predictions, strict=True):
        if request.origin is None:
            raise ValueError("write_label_maps needs requests from idiff predict (with origin)")
        by_image.setdefault(request.origin.name, []).append((request, prediction))
    written, classes = [], []
    for pairs in by_image.values():
        origin = pairs[0][0].origin
        masks = [(r.meta["class_index"], np.asarray(p, dtype=bool)) for r, p in pairs]
        labels = assemble_label_map(masks, masks[0][1].shape, IGNORE_INDEX).astype(np.uint8)
        written.append(atomic_write_png(out_dir / "labels" / f"{origin.name}.png",
                                        origin.image_map(labels, fill=IGNORE_INDEX)))
        classes = classes or [r.meta["object"] for r, _ in pairs]
    lines = ["0: unlabeled", *(f"{k + 1}: {name}" for k, name in enumerate(classes))]
    written.append(atomic_write_bytes(out_dir / "labels.txt", ("\n".join(lines) + "\n").encode()))
    return written
