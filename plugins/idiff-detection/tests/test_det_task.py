"""The task on synthetic COCO instances, built with idiff's pytest fixtures (no conftest of its own)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from idiff.tasks.api import EditSample

#: The run resolution equals the synthetic image size, so boxes map back to the images without rounding.
SMALL = {"resolution": 64, "synthetic_image_size": 64, "synthetic_train_images": 4, "synthetic_val_images": 4}


def test_encoded_ground_truth_decodes_to_ap_one(idiff_task, tmp_path) -> None:
    task = idiff_task("detection", **SMALL)
    requests = task.test_requests()
    assert requests and all(r.target is not None and r.source.shape == (64, 64, 3) for r in requests)
    metrics = task.evaluate(requests, [task.decode(r.target, r) for r in requests], tmp_path)
    assert metrics["AP"] == pytest.approx(1.0) and metrics["AR"] == pytest.approx(1.0), metrics
    # The boxes written are the annotation file's own, box for box (read independently of the task).
    truth = json.loads(task.annotation_file("val2017").read_text())["annotations"]
    written = json.loads((tmp_path / "detection_results.json").read_text())
    assert sorted((r["image_id"], r["category_id"], *r["bbox"]) for r in written) == sorted(
        (a["image_id"], a["category_id"], *a["bbox"]) for a in truth
    )


def test_copying_the_source_finds_nothing(idiff_task, tmp_path) -> None:
    task = idiff_task("detection", **SMALL)
    requests = task.test_requests()
    assert task.evaluate(requests, [task.decode(r.source, r) for r in requests], tmp_path)["AP"] == 0.0


@pytest.mark.parametrize("options", [{"mark": "box"}, {"test_categories": "all", "test_colour": "random"}])
def test_options_keep_the_ground_truth_perfect(idiff_task, tmp_path, options) -> None:
    task = idiff_task("detection", **SMALL, **options)
    requests = task.test_requests()
    if options.get("test_categories") == "all":
        assert len(requests) == 4 * len(task.split("val2017").categories)  # every category of every image
    assert task.evaluate(requests, [task.decode(r.target, r) for r in requests], tmp_path)["AP"] == pytest.approx(1.0)


def test_training_samples_mark_the_named_category(idiff_task) -> None:
    task = idiff_task("detection", **SMALL, absent_category_prob=0.0)
    data = task.train_dataset()
    names = set(task.split("train2017").categories.values())
    for i in range(len(data)):
        sample = data[i]
        assert isinstance(sample, EditSample) and sample.source.shape == sample.target.shape == (64, 64, 3)
        assert any(name in sample.instruction for name in names)
        assert (sample.source != sample.target).any()  # a present category is always marked


def test_render_and_max_test_requests(idiff_task) -> None:
    task = idiff_task("detection", **SMALL, max_test_requests=1)
    requests = task.test_requests()
    assert len({r.meta["image_id"] for r in requests}) == 1  # whole images only, at least one
    view = task.render(requests[0], task.decode(requests[0].target, requests[0]))
    assert view.shape == (64, 64, 3) and view.dtype == np.uint8 and not np.array_equal(view, requests[0].source)
