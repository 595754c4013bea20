"""Flip test and several samples per test instruction: the mirrored view maps back, and the answers merge."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from idiff.tasks.api import TaskContext

from idiff_keypoints.evaluation import merge_views
from idiff_keypoints.task import KeypointsConfig, KeypointsTask


def _with(task: KeypointsTask, **options: object) -> KeypointsTask:
    cfg = KeypointsConfig(**{**task.config.__dict__, **options})
    return KeypointsTask(cfg, TaskContext(resolution=64, data_dir=task.data_dir, seed=3))


def test_mirrored_views_decode_to_the_ground_truth(task: KeypointsTask, tmp_path: Path) -> None:
    """Decoding each view's own target and merging scores AP 1.0: the mirror's joints and affine map back."""
    views = _with(task, flip_test=True, test_samples=2)
    reqs = views.test_requests()
    persons = {r.meta["ann_id"] for r in reqs}
    assert len(reqs) == len(persons) * math.ceil(17 / 5) * 4
    assert [r.meta["view"] for r in reqs[: 4 * 4 : 4]] == [0, 1, 2, 3]
    for view in range(4):
        for ann in persons:
            joints = sorted(j for r in reqs if r.meta["ann_id"] == ann and r.meta["view"] == view
                            for j in r.meta["joints"])
            assert joints == list(range(17))
    mirrored = [r for r in reqs if r.meta["view"] >= 2]
    # a mirrored crop is asked for the mirror image of each joint: "left" for the person's right
    assert any("left" in r.instruction for r in mirrored) and any("right" in r.instruction for r in mirrored)
    metrics = views.evaluate(reqs, [views.decode(r.target, r) for r in reqs], tmp_path)
    assert metrics["AP"] == pytest.approx(1.0) and metrics["PCK@0.1"] == 1.0, metrics


def test_the_mirrored_view_alone_locates_every_joint(task: KeypointsTask, tmp_path: Path) -> None:
    """Only the mirrored answers (the unmirrored ones not found): still AP 1.0, so they are not read mirrored."""
    views = _with(task, flip_test=True)
    reqs = views.test_requests()
    predictions = []
    for r in reqs:
        decoded = views.decode(r.target, r)
        if r.meta["view"] == 0:
            decoded[:, 2] = 0.0
        predictions.append(decoded)
    assert views.evaluate(reqs, predictions, tmp_path)["AP"] == pytest.approx(1.0)


def test_unmirrored_requests_are_unchanged_by_the_option(task: KeypointsTask) -> None:
    plain, views = task.test_requests(), _with(task, flip_test=True).test_requests()
    first = [r for r in views if r.meta["view"] == 0]
    assert [r.instruction for r in first] == [r.instruction for r in plain]
    assert all(np.array_equal(a.source, b.source) and np.array_equal(a.target, b.target)
               for a, b in zip(first, plain, strict=True))


def test_max_test_requests_counts_every_view(task: KeypointsTask) -> None:
    """A cap of 24 with two views asks what a cap of 12 asks with one view, twice: whole images, every view (the
    fixture's first images have 8 instructions each, so counting views once would take a second image)."""
    reqs = _with(task, flip_test=True, max_test_requests=24).test_requests()
    plain = _with(task, max_test_requests=12).test_requests()
    assert len({r.meta["image_id"] for r in reqs}) == 1 and len(reqs) == 2 * len(plain)
    assert [r.instruction for r in reqs if r.meta["view"] == 0] == [r.instruction for r in plain]


def test_merge_views_by_hand() -> None:
    views = np.array([
        [[10.0, 20.0, 0.5], [1.0, 1.0, 0.0], [5.0, 5.0, 0.0]],
        [[14.0, 24.0, 1.0], [7.0, 9.0, 0.8], [6.0, 6.0, 0.0]],
        [[12.0, 20.0, 0.5], [0.0, 0.0, 0.0], [7.0, 7.0, 0.0]],
    ])
    merged = merge_views(views)
    # joint 0: weights 0.5, 1.0, 0.5 -> x (5 + 14 + 6) / 2 = 12.5, y (10 + 24 + 10) / 2 = 22; score 2 / 3
    # joint 1: only the second view found it; score 0.8 / 3
    # joint 2: no view found it: the first view's answer, score 0
    np.testing.assert_allclose(merged, [[12.5, 22.0, 2 / 3], [7.0, 9.0, 0.8 / 3], [5.0, 5.0, 0.0]])
    np.testing.assert_array_equal(merge_views(views[:1]), views[0])


@pytest.mark.parametrize("samples", [0, -1])
def test_test_samples_must_be_positive(samples: int) -> None:
    with pytest.raises(ValueError, match="test_samples must be >= 1"):
        KeypointsConfig(test_samples=samples)
