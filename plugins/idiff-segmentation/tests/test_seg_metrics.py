"""Each metric against a direct numpy computation on hand-made masks (and torchmetrics' own Jaccard index)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.classification import MulticlassJaccardIndex

from idiff_segmentation.evaluation import (
    assemble_label_map,
    confusion_matrix,
    iou_from_confusion,
    mask_counts,
    referring_metrics,
    semantic_class_metrics,
)


def box(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_referring_cumulative_and_mean_iou_by_hand() -> None:
    # expression 1: truth 4x4=16 px, prediction shifted by 2 columns: I = 8, U = 24 -> IoU 1/3
    # expression 2: truth 2x2=4 px, prediction equal: I = U = 4 -> IoU 1
    # expression 3: truth 10x10=100 px, prediction 5x10=50 inside: I = 50, U = 100 -> IoU 1/2
    truths = [box(12, 12, 0, 4, 0, 4), box(12, 12, 5, 7, 5, 7), box(12, 12, 2, 12, 2, 12)]
    preds = [box(12, 12, 0, 4, 2, 6), box(12, 12, 5, 7, 5, 7), box(12, 12, 2, 7, 2, 12)]
    counts = [mask_counts(p, t) for p, t in zip(preds, truths, strict=True)]
    assert counts == [(8, 24), (4, 4), (50, 100)]
    m = referring_metrics(*zip(*counts, strict=True), [False] * 3, [False] * 3)
    inter = sum(np.logical_and(p, t).sum() for p, t in zip(preds, truths, strict=True))
    union = sum(np.logical_or(p, t).sum() for p, t in zip(preds, truths, strict=True))
    assert m["cIoU"] == pytest.approx(inter / union) == pytest.approx(62 / 128)
    assert m["mIoU"] == pytest.approx(np.mean([1 / 3, 1.0, 0.5]))
    assert (m["Pr@0.5"], m["Pr@0.7"], m["Pr@0.9"]) == pytest.approx((2 / 3, 1 / 3, 1 / 3))
    assert "N-acc" not in m


def test_grefcoco_empty_target_convention() -> None:
    h = w = 8
    empty = np.zeros((h, w), bool)
    truths = [box(h, w, 0, 4, 0, 4), empty, empty]
    preds = [box(h, w, 0, 4, 0, 4), empty, box(h, w, 0, 2, 0, 2)]  # exact, correct "nothing", false mark of 4 px
    counts = [mask_counts(p, t) for p, t in zip(preds, truths, strict=True)]
    m = referring_metrics(*zip(*counts, strict=True), [not t.any() for t in truths], [not p.any() for p in preds])
    assert m["mIoU"] == pytest.approx((1.0 + 1.0 + 0.0) / 3)  # empty & empty = 1, empty & marked = 0
    assert m["cIoU"] == pytest.approx(16 / (16 + 4))  # the false mark adds its pixels to the union
    assert m["N-acc"] == pytest.approx(0.5) and m["T-acc"] == pytest.approx(1.0)


def test_counts_ignore_invalid_pixels() -> None:
    pred, truth = box(6, 6, 0, 3, 0, 6), box(6, 6, 0, 6, 0, 3)
    valid = box(6, 6, 0, 6, 0, 6)
    valid[:, 5] = False
    assert mask_counts(pred, truth, valid) == (9, 15 + 18 - 9)  # valid: P = 15 px, T = 18 px, I = 9 px
    with pytest.raises(ValueError, match="differ in size"):
        mask_counts(pred, truth[:5])


def test_semantic_mciou_is_the_mean_of_classwise_cumulative_iou() -> None:
    # class 3 in two images: (I, U) = (10, 20) and (30, 40) -> cumulative 40 / 60; class 5 once: 5 / 25
    mciou, classwise = semantic_class_metrics([3, 5, 3], [10, 5, 30], [20, 25, 40])
    assert classwise == pytest.approx({3: 40 / 60, 5: 5 / 25})
    assert mciou == pytest.approx((40 / 60 + 5 / 25) / 2)
    assert mciou != pytest.approx(np.mean([10 / 20, 5 / 25, 30 / 40]))  # not the mean of per-request IoUs


def test_label_map_assembly_marks_unclaimed_and_contested_pixels() -> None:
    a, b = box(4, 4, 0, 2, 0, 4), box(4, 4, 1, 3, 0, 4)
    labels = assemble_label_map([(1, a), (2, b)], (4, 4), none_label=9)
    np.testing.assert_array_equal(labels[:, 0], [1, 9, 2, 9])


def test_miou_against_numpy_and_torchmetrics() -> None:
    rng = np.random.default_rng(0)
    num_classes, ignore = 4, 255
    target = rng.integers(0, num_classes, (2, 16, 16))
    target[:, :2] = ignore
    pred = np.where(
        rng.random((2, 16, 16)) < 0.7, np.clip(target, 0, num_classes), rng.integers(0, num_classes + 1, (2, 16, 16))
    )
    pred[pred == ignore] = num_classes  # "no class"
    cm = sum(confusion_matrix(p, t, num_classes + 1, ignore) for p, t in zip(pred, target, strict=True))
    valid = target != ignore
    ious = []
    for c in range(num_classes):
        tp = np.sum((pred == c) & (target == c) & valid)
        union = np.sum(((pred == c) | (target == c)) & valid)
        ious.append(tp / union)
    m = iou_from_confusion(cm, num_classes)
    assert m["mIoU"] == pytest.approx(np.mean(ious))
    assert m["aAcc"] == pytest.approx(np.sum((pred == target) & valid) / valid.sum())
    jaccard = MulticlassJaccardIndex(num_classes + 1, average=None, ignore_index=ignore)
    per_class = jaccard(torch.from_numpy(pred).reshape(-1), torch.from_numpy(target).reshape(-1))
    assert per_class[:num_classes].numpy() == pytest.approx(np.asarray(ious), abs=1e-6)


def test_miou_skips_classes_absent_from_truth_and_prediction() -> None:
    target = np.array([[0, 0, 1, 1]])
    cm = confusion_matrix(target, target, 6, 255)
    assert iou_from_confusion(cm, 5) == {"mIoU": 1.0, "aAcc": 1.0}  # classes 2-4 do not drag the mean to 0.4
