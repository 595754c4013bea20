"""The plugin honours the contract: found through its entry point, configurable through Hydra, free of Lightning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from idiff.testing.contract import assert_entry_points, assert_imports_without_lightning, assert_public_imports

SMALL = ["task.synthetic_train_images=4", "task.synthetic_val_images=2", "task.synthetic_image_size=32"]


def test_plugin_does_not_import_lightning() -> None:
    assert_imports_without_lightning("idiff_editing.task")


def test_entry_point_gives_the_task_class() -> None:
    assert_entry_points("idiff-editing", {"editing": "EditingTask"})


def test_only_the_public_api_of_idiff_is_imported() -> None:
    assert_public_imports("idiff_editing")


def test_options_reach_the_task_through_hydra(idiff_config) -> None:
    from idiff.tasks.factory import build_task

    cfg = idiff_config("test", "task=editing", "task.max_test_requests=3", "+task.weights.ip2p=2.0",
                       "task.clip_model=/models/clip-vit-large-patch14")
    task = build_task("editing", cfg)
    assert dict(task.config.weights) == {"synthetic": 1.0, "ip2p": 2.0} and task.config.max_test_requests == 3
    assert task.config.clip_model == "/models/clip-vit-large-patch14"
    assert (task.config.guidance.text, task.config.guidance.image) == (5.0, 1.25)
    own = idiff_config("fit", "task=editing", "task.weights.synthetic=0", "+task.weights.manifest=1.0",
                       "task.manifest=/data/mine/train.jsonl")
    assert dict(build_task("editing", own).config.weights) == {"synthetic": 0.0, "manifest": 1.0}
    mixed = idiff_config("fit", "++data.mixture.editing=0.5", "++data.tasks.editing.weights.synthetic=3.0")
    assert mixed.data.mixture.editing == 0.5 and mixed.data.tasks.editing.weights.synthetic == 3.0


@pytest.mark.slow
def test_fit_then_test_with_the_tiny_model(idiff_fit_tiny, idiff_test_tiny, tmp_path: Path) -> None:
    checkpoint = idiff_fit_tiny("editing", *SMALL)
    assert checkpoint.is_file()
    metrics = idiff_test_tiny("editing", *SMALL)
    assert {"L1", "L2", "identity/L1", "identity/L2"} <= set(metrics)
    assert 0 <= metrics["L1"] <= 1 and metrics["identity/L2"] > 0
    run = tmp_path / "runs" / "test" / "tiny"
    assert json.loads((run / "metrics.json").read_text())["guidance"] == {"text": 5.0, "image": 1.25}
    assert (run / "grid.png").is_file() and len(json.loads((run / "per_image.json").read_text())) == 2
