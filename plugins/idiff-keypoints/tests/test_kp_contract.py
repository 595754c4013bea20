"""The plugin honours the contract: found through its entry point, and free of Lightning."""

from __future__ import annotations

from idiff.testing.contract import assert_entry_points, assert_imports_without_lightning


def test_plugin_does_not_import_lightning():
    assert_imports_without_lightning("idiff_keypoints.task")


def test_entry_point_gives_the_task_class():
    assert_entry_points("idiff-keypoints", {"keypoints": "KeypointsTask"})


def test_options_reach_the_task(idiff_config):
    cfg = idiff_config("test", "task=keypoints", "task.max_test_requests=4")
    assert cfg.task.max_test_requests == 4
