"""The plugin honours the contract: found through its entry point, public API only, no Lightning, clear errors."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
from idiff.errors import ConfigError, DataError
from idiff.testing.contract import assert_imports_without_lightning

PUBLIC_API = {"idiff.tasks.api", "idiff.errors", "idiff.files"}


def test_found_through_an_isolated_registry(idiff_isolated_registry, idiff_task) -> None:
    registry = idiff_isolated_registry(detection="idiff_detection.task:DetectionTask")
    assert registry.names == ["detection"] and registry.load("detection").__name__ == "DetectionTask"
    assert idiff_task("detection").config.guidance.text == 7.5


def test_imports_only_the_public_plugin_api() -> None:
    package = Path(importlib.util.find_spec("idiff_detection").origin).parent
    used = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                used.add(node.module)
            elif isinstance(node, ast.Import):
                used.update(alias.name for alias in node.names)
    assert {m for m in used if m.split(".")[0] == "idiff"} <= PUBLIC_API
    assert_imports_without_lightning("idiff_detection.task")


def test_options_reach_the_task_and_bad_ones_name_the_allowed_values(idiff_config, idiff_task) -> None:
    cfg = idiff_config("test", "task=detection", "task.mark=box", "task.max_test_requests=3")
    assert cfg.task.mark == "box" and cfg.task.max_test_requests == 3
    with pytest.raises(ConfigError, match="mark must be one of mask, box; got 'boxes'"):
        idiff_task("detection", mark="boxes")
    with pytest.raises(ConfigError, match="task.nope"):
        idiff_task("detection", nope=1)


def test_a_broken_annotation_file_is_a_data_error_naming_it(idiff_task) -> None:
    task = idiff_task("detection", synthetic=False)
    path = task.annotation_file("val2017")
    with pytest.raises(DataError, match="instances_val2017.json: annotation file not found"):
        task.test_requests()
    path.parent.mkdir(parents=True)
    path.write_text('{"images": [], "annotations": [{"id": 1, "image_id": 1}], "categories": []}')
    with pytest.raises(DataError, match=r"instances_val2017.json: annotation 1 is missing 'category_id'"):
        task.test_requests()


@pytest.mark.slow
def test_fit_then_test_with_the_tiny_model(idiff_fit_tiny, idiff_test_tiny, tmp_path) -> None:
    options = ["task.synthetic_train_images=4", "task.synthetic_val_images=2", "task.synthetic_image_size=32"]
    checkpoint = idiff_fit_tiny("detection", *options)
    assert checkpoint.is_file()
    metrics = idiff_test_tiny("detection", *options)
    assert 0.0 <= metrics["AP"] <= 1.0 and "identity/AP" in metrics
    assert (tmp_path / "runs" / "test" / "tiny" / "detection_results.json").is_file()
