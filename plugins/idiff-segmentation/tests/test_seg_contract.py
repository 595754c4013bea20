"""The plugin honours the contract: both tasks found through their entry points, configurable, free of Lightning."""

from __future__ import annotations

import pytest
from idiff.testing.contract import assert_entry_points, assert_imports_without_lightning

TASKS = {"referring_segmentation": "ReferringSegmentationTask", "semantic_segmentation": "SemanticSegmentationTask"}


def test_plugin_does_not_import_lightning() -> None:
    assert_imports_without_lightning("idiff_segmentation.referring_task", "idiff_segmentation.semantic_task")


def test_entry_points_give_the_task_classes() -> None:
    assert_entry_points("idiff-segmentation", TASKS)


@pytest.mark.parametrize("name", TASKS)
def test_options_reach_the_task(idiff_config, name: str) -> None:
    cfg = idiff_config("test", f"task={name}", "task.max_test_requests=4", "task.test_colour=random")
    assert cfg.task.max_test_requests == 4 and cfg.task.test_colour == "random"
    assert (cfg.task.guidance.text, cfg.task.guidance.image) == (7.5, 1.5)


def test_a_bad_option_names_the_key(idiff_config) -> None:
    from idiff.errors import ConfigError
    from idiff.tasks.factory import build_task

    cfg = idiff_config("test", "task=referring_segmentation", "task.dataset=refclef")
    with pytest.raises(ConfigError, match="dataset must be one of refcoco"):
        build_task("referring_segmentation", cfg)
