"""COCO keypoint results and OKS evaluation (PAPER.md "Evaluation protocols": OKS AP, GT person boxes).

Results follow the COCO results format for keypoints (cocodataset.org/#format-results):
``[{"image_id", "category_id", "keypoints": [x1, y1, s1, ..., xK, yK, sK], "score"}]``. Scores use
pycocotools ``COCOeval(iouType="keypoints")`` with the layout's OKS sigmas
(``params.kpt_oks_sigmas``). The person score is the mean of the keypoint scores above
``KEYPOINT_SCORE_THRESHOLD`` (HRNet / mmpose rescoring with GT boxes of score 1), 0 when none is.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from idiff.files import atomic_write_json
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

__all__ = [
    "KEYPOINT_SCORE_THRESHOLD",
    "METRIC_NAMES",
    "evaluate_keypoints",
    "merge_views",
    "person_result",
    "person_score",
    "pck",
]

#: Keypoints scoring above this count toward the person score (mmpose ``in_vis_thre``).
KEYPOINT_SCORE_THRESHOLD = 0.2

#: PCK thresholds, as fractions of the longer side of the person box.
PCK_ALPHAS: tuple[float, ...] = (0.1, 0.2)

#: Names of the first six COCOeval keypoint stats, in order.
METRIC_NAMES: tuple[str, ...] = ("AP", "AP50", "AP75", "AP_M", "AP_L", "AR")


def person_score(scores: np.ndarray, threshold: float = KEYPOINT_SCORE_THRESHOLD) -> float:
    """Mean of the keypoint scores above ``threshold``; 0 when none is."""
    s = np.asarray(scores, np.float64)
    good = s[s > threshold]
    return float(good.mean()) if len(good) else 0.0


def person_result(image_id: int, category_id: int, keypoints: np.ndarray, score: float | None = None) -> dict[str, Any]:
    """One COCO keypoint result; ``keypoints`` is (K, 3) ``(x, y, score)`` in image pixels."""
    kp = np.asarray(keypoints, np.float64).reshape(-1, 3)
    return {
        "image_id": int(image_id),
        "category_id": int(category_id),
        "keypoints": [round(float(v), 3) for v in kp.reshape(-1)],
        "score": float(person_score(kp[:, 2]) if score is None else score),
    }


def merge_views(views: np.ndarray) -> np.ndarray:
    """Merge several answers for each joint (flip test, several samples) into one ``(x, y, score)``.

    The points the views found are averaged, weighted by their scores; the score is the mean over all views (a
    point half the views missed scores half). A joint no view found keeps the first view's answer.

    Args:
        views: (V, K, 3) ``(x, y, score)`` in image pixels; score 0 = not found.

    Returns:
        (K, 3) merged ``(x, y, score)``; with one view, that view unchanged.
    """
    views = np.asarray(views, np.float64)
    if len(views) == 1:
        return views[0].copy()
    weights = np.clip(views[..., 2], 0.0, None)
    total = weights.sum(axis=0)
    found = total > 0
    out = views[0].copy()
    out[found, :2] = np.einsum("vk,vkc->kc", weights[:, found], views[:, found, :2]) / total[found, None]
    out[:, 2] = weights.mean(axis=0)
    return out


def pck(
    predicted: np.ndarray, ground_truth: np.ndarray, boxes: np.ndarray, alphas: Sequence[float] = PCK_ALPHAS
) -> dict[str, float]:
    """Percentage of correct keypoints: a labelled joint is correct within ``alpha * max(box w, box h)``.

    Args:
        predicted: (N, K, 2+) predicted ``x, y`` in image pixels.
        ground_truth: (N, K, 3) ground truth ``x, y, v``; joints with ``v == 0`` are not counted.
        boxes: (N, 4) ground-truth person boxes ``x, y, w, h``.
        alphas: thresholds as fractions of the box's longer side.

    Returns:
        ``{"PCK@<alpha>": fraction}`` for each alpha (0.0 when nothing is labelled).
    """
    labelled = ground_truth[..., 2] > 0
    distance = np.linalg.norm(predicted[..., :2] - ground_truth[..., :2], axis=-1)
    scale = np.maximum(boxes[:, 2], boxes[:, 3])[:, None]
    count = max(int(labelled.sum()), 1)
    return {f"PCK@{a:g}": float(((distance <= a * scale) & labelled).sum() / count) for a in alphas}


def evaluate_keypoints(
    ground_truth: COCO | Path | str,
    results: Sequence[dict[str, Any]],
    out_dir: Path | str,
    sigmas: Sequence[float],
    image_ids: Sequence[int] | None = None,
    results_name: str = "keypoints_results.json",
) -> dict[str, float]:
    """Write ``results`` to ``out_dir/results_name`` and score them with COCOeval (keypoints).

    Args:
        ground_truth: the ground-truth ``person_keypoints_<split>.json``, or its pycocotools index (a converted
            AIC / MPII split has no COCO file: :attr:`KeypointsDataset.coco`).
        results: COCO keypoint results (see :func:`person_result`).
        out_dir: where the results file goes.
        sigmas: OKS sigma per joint (K of them).
        image_ids: evaluate only these images (e.g. when the requests covered a subset); ``None`` = all.
        results_name: file name of the results.

    Returns:
        ``{"AP", "AP50", "AP75", "AP_M", "AP_L", "AR"}`` as floats in [0, 1]; a metric COCOeval leaves
        undefined (-1: no ground truth in that area range) and every metric with no results are 0.0.
    """
    atomic_write_json(Path(out_dir) / results_name, list(results))
    zero = dict.fromkeys(METRIC_NAMES, 0.0)
    if not results:
        return zero
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        gt = ground_truth if isinstance(ground_truth, COCO) else COCO(str(ground_truth))
        dt = gt.loadRes([dict(r) for r in results])
        ev = COCOeval(gt, dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        if image_ids is not None:
            ev.params.imgIds = sorted({int(i) for i in image_ids})
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [float(v) for v in ev.stats[: len(METRIC_NAMES)]]
    return {name: max(v, 0.0) for name, v in zip(METRIC_NAMES, stats, strict=True)}
