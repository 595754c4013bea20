"""Segmentation metrics (PAPER.md "Evaluation protocols": referring cIoU, semantic mcIoU).

Referring segmentation, over the expressions (sentences) of a split, with ``I_e`` / ``U_e`` the intersection /
union pixel counts of expression ``e``:

- ``cIoU`` (cumulative IoU): ``sum_e I_e / sum_e U_e`` -- the paper's number;
- ``mIoU`` (mean IoU, gIoU in gRefCOCO): ``mean_e I_e / U_e``. An expression with an empty target (gRefCOCO
  no-target) and an empty prediction has ``U_e = 0`` and scores 1; with a non-empty prediction it scores 0
  (the GRES convention). In cIoU such a pair adds nothing, a false mask adds its pixels to the union;
- ``Pr@0.5``, ``Pr@0.7``, ``Pr@0.9``: fraction of expressions with IoU at or above the threshold;
- with no-target expressions present, ``N-acc`` (empty targets predicted empty) and ``T-acc`` (non-empty
  targets predicted non-empty).

Semantic segmentation, one request per (image, class present in the image):

- ``mcIoU`` (the paper's number): for each class ``c``, the cumulative IoU ``sum I / sum U`` over its requests,
  then the mean over the classes requested at least once;
- ``mIoU``: the standard confusion-matrix mean IoU. Each image's predicted masks are assembled into a label map
  (a pixel claimed by exactly one requested class gets it; by none or by several, an extra "no class" label that
  is wrong for every class), the confusion matrix (torchmetrics ``multiclass_confusion_matrix``, ignore index
  255) is summed over images, ``IoU_c = TP / (TP + FP + FN)`` and the mean runs over classes with a non-empty
  union (mmsegmentation's ``nanmean``). Only classes present in an image are asked for, so no prediction of an
  absent class can cost false positives: this mIoU is an upper bound on a dense segmenter's;
- ``aAcc``: pixel accuracy of the assembled label maps over labelled pixels.

Ignored pixels (label 255) count in neither intersections nor unions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from idiff.files import atomic_write_png
from torchmetrics.functional.classification import multiclass_confusion_matrix

__all__ = [
    "PRECISION_THRESHOLDS",
    "assemble_label_map",
    "confusion_matrix",
    "iou_from_confusion",
    "mask_counts",
    "referring_metrics",
    "semantic_class_metrics",
    "write_mask_png",
]

#: IoU thresholds of the referring ``Pr@t`` metrics.
PRECISION_THRESHOLDS: tuple[float, ...] = (0.5, 0.7, 0.9)


def mask_counts(prediction: np.ndarray, target: np.ndarray, valid: np.ndarray | None = None) -> tuple[int, int]:
    """``(|P & T|, |P | T|)`` of two boolean masks, over the ``valid`` pixels only when given."""
    p = np.asarray(prediction, dtype=bool)
    t = np.asarray(target, dtype=bool)
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and target {t.shape} differ in size")
    if valid is not None:
        p, t = p & valid, t & valid
    return int(np.count_nonzero(p & t)), int(np.count_nonzero(p | t))


def referring_metrics(
    intersections: Sequence[int],
    unions: Sequence[int],
    target_empty: Sequence[bool],
    prediction_empty: Sequence[bool],
) -> dict[str, float]:
    """cIoU, mIoU, Pr@t and (with empty targets) N-acc / T-acc from per-expression counts (module docstring)."""
    i = np.asarray(intersections, dtype=np.float64)
    u = np.asarray(unions, dtype=np.float64)
    if len(i) == 0:
        return {"cIoU": 0.0, "mIoU": 0.0, **{f"Pr@{t:g}": 0.0 for t in PRECISION_THRESHOLDS}}
    ious = np.divide(i, u, out=np.ones_like(i), where=u > 0)
    metrics = {"cIoU": float(i.sum() / u.sum()) if u.sum() > 0 else 1.0, "mIoU": float(ious.mean())}
    metrics.update({f"Pr@{t:g}": float((ious >= t).mean()) for t in PRECISION_THRESHOLDS})
    empty_t = np.asarray(target_empty, dtype=bool)
    empty_p = np.asarray(prediction_empty, dtype=bool)
    if empty_t.any():
        metrics["N-acc"] = float(empty_p[empty_t].mean())
        metrics["T-acc"] = float((~empty_p[~empty_t]).mean()) if (~empty_t).any() else 1.0
    return metrics


def semantic_class_metrics(
    class_ids: Sequence[int], intersections: Sequence[int], unions: Sequence[int]
) -> tuple[float, dict[int, float]]:
    """The mcIoU and the classwise cumulative IoU ``{class: sum I / sum U}`` from per-request counts."""
    per_i: dict[int, float] = {}
    per_u: dict[int, float] = {}
    for c, i, u in zip(class_ids, intersections, unions, strict=True):
        per_i[int(c)] = per_i.get(int(c), 0.0) + float(i)
        per_u[int(c)] = per_u.get(int(c), 0.0) + float(u)
    classwise = {c: per_i[c] / per_u[c] if per_u[c] > 0 else 1.0 for c in sorted(per_i)}
    return (float(np.mean(list(classwise.values()))) if classwise else 0.0), classwise


def assemble_label_map(masks: Sequence[tuple[int, np.ndarray]], shape: tuple[int, int], none_label: int) -> np.ndarray:
    """Label map from per-class masks: exactly one claim -> that class; none or several -> ``none_label``."""
    labels = np.full(shape, none_label, dtype=np.int64)
    claims = np.zeros(shape, dtype=np.int64)
    for class_id, mask in masks:
        m = np.asarray(mask, dtype=bool)
        labels[m] = class_id
        claims += m
    labels[claims != 1] = none_label
    return labels


def confusion_matrix(prediction: np.ndarray, target: np.ndarray, num_labels: int, ignore_index: int) -> np.ndarray:
    """(num_labels, num_labels) pixel counts, rows = target, columns = prediction (torchmetrics)."""
    cm = multiclass_confusion_matrix(
        torch.from_numpy(np.asarray(prediction, np.int64)).reshape(-1),
        torch.from_numpy(np.asarray(target, np.int64)).reshape(-1),
        num_classes=num_labels,
        ignore_index=ignore_index,
        validate_args=False,
    )
    return cm.numpy().astype(np.int64)


def iou_from_confusion(cm: np.ndarray, num_classes: int) -> dict[str, float]:
    """``mIoU`` (mean over the first ``num_classes`` labels with a non-empty union) and ``aAcc`` of a matrix."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)[:num_classes]
    union = cm.sum(0)[:num_classes] + cm.sum(1)[:num_classes] - tp
    present = union > 0
    labelled = cm[:num_classes].sum()
    return {
        "mIoU": float((tp[present] / union[present]).mean()) if present.any() else 0.0,
        "aAcc": float(np.diag(cm)[:num_classes].sum() / labelled) if labelled > 0 else 0.0,
    }


def write_mask_png(path: Path | str, mask: np.ndarray) -> Path:
    """A boolean mask as an 8-bit PNG (0 / 255), written atomically."""
    return atomic_write_png(path, np.asarray(mask, dtype=bool).astype(np.uint8) * 255)
