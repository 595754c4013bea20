"""COCO detection results and box AP with pycocotools (cocodataset.org/#detection-eval).

Results follow the COCO results format for detection (cocodataset.org/#format-results):
``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}]`` in image pixels. They are written atomically to
``detection_results.json`` and scored by ``COCOeval(iouType="bbox")`` over the requested images: AP averaged over
IoU 0.50:0.95, AP at 0.50 and 0.75, AP of small / medium / large objects, and AR with up to 100 boxes per image.
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

__all__ = ["METRIC_NAMES", "box_result", "evaluate_boxes"]

#: Reported metrics and their index in ``COCOeval.stats`` for boxes.
METRIC_NAMES: dict[str, int] = {"AP": 0, "AP50": 1, "AP75": 2, "AP_S": 3, "AP_M": 4, "AP_L": 5, "AR": 8}


def box_result(image_id: int, category_id: int, box: Sequence[float], score: float) -> dict[str, Any]:
    """One COCO detection result; ``box`` is ``(x, y, w, h)`` in image pixels."""
    return {
        "image_id": int(image_id),
        "category_id": int(category_id),
        "bbox": [round(float(v), 3) for v in box[:4]],
        "score": float(score),
    }


def evaluate_boxes(
    ground_truth: COCO,
    results: Sequence[dict[str, Any]],
    out_dir: Path | str,
    image_ids: Sequence[int] | None = None,
    results_name: str = "detection_results.json",
) -> dict[str, float]:
    """Write ``results`` to ``out_dir/results_name`` and score them with COCOeval (bbox).

    Args:
        ground_truth: pycocotools index of the ground-truth instances file.
        results: COCO detection results (see :func:`box_result`).
        out_dir: where the results file goes.
        image_ids: evaluate only these images (those the requests covered); ``None`` = all.
        results_name: file name of the results.

    Returns:
        :data:`METRIC_NAMES` as floats in [0, 1]; a metric COCOeval leaves undefined (-1: no ground truth in that
        size range) and every metric with no results are 0.0.
    """
    atomic_write_json(Path(out_dir) / results_name, list(results))
    if not results:
        return dict.fromkeys(METRIC_NAMES, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        detections = ground_truth.loadRes([dict(r) for r in results])
        ev = COCOeval(ground_truth, detections, iouType="bbox")
        if image_ids is not None:
            ev.params.imgIds = sorted({int(i) for i in image_ids})
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = np.asarray(ev.stats, dtype=np.float64)
    return {name: max(float(stats[i]), 0.0) for name, i in METRIC_NAMES.items()}
