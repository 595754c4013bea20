"""Task discovery: installed plugins, broken plugins, unknown and duplicate names (entry points injected)."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from idiff.errors import PluginError
from idiff.tasks.registry import ENTRY_POINT_GROUP, TaskRegistry


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_installed_keypoints_plugin_is_discovered_with_its_distribution():
    infos = {info.name: info for info in TaskRegistry().describe()}
    assert "keypoints" in infos
    assert infos["keypoints"].distribution == "idiff-keypoints"
    assert infos["keypoints"].error is None


def test_broken_plugin_is_listed_with_its_error_and_others_still_load():
    registry = TaskRegistry(
        [ep("broken", "idiff_no_such_module:Task"), ep("good", "idiff_keypoints.task:KeypointsTask")]
    )
    infos = {info.name: info for info in registry.describe()}
    assert "ModuleNotFoundError" in infos["broken"].error
    assert infos["good"].error is None
    assert registry.load("good").__name__ == "KeypointsTask"


def test_entry_point_that_is_not_a_task_is_refused():
    registry = TaskRegistry([ep("notatask", "idiff.errors:ConfigError")])
    with pytest.raises(PluginError, match="not a subclass of idiff.tasks.api.Task"):
        registry.load("notatask")


def test_unknown_task_names_the_installed_ones():
    registry = TaskRegistry([ep("alpha", "x:y"), ep("beta", "x:z")])
    with pytest.raises(PluginError, match="unknown task 'gamma'; installed tasks: alpha, beta"):
        registry.load("gamma")


def test_duplicate_names_from_different_plugins_are_an_error():
    registry = TaskRegistry([ep("dup", "a:Task"), ep("dup", "b:Task")])
    with pytest.raises(PluginError, match="registered by several plugins"):
        registry.load("dup")
