"""The plugin honours the contract: found through its entry point, and free of Lightning."""

from __future__ import annotations

import subprocess
import sys

from idiff.tasks.registry import TaskRegistry


def test_plugin_does_not_import_lightning():
    code = "import sys, idiff_keypoints.task; assert not {'lightning', 'pytorch_lightning'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_entry_point_gives_the_task_class():
    assert TaskRegistry().load("keypoints").__name__ == "KeypointsTask"


def test_options_reach_the_task(idiff_config):
    cfg = idiff_config("test", "task=keypoints", "task.max_test_requests=4")
    assert cfg.task.max_test_requests == 4
