"""Shared fixtures: a tiny synthetic COCO keypoint dataset written once per test session, the task over a copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from idiff.tasks.api import TaskContext

from idiff_keypoints.synthetic import write_synthetic_coco
from idiff_keypoints.task import KeypointsConfig, KeypointsTask


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/annotations/person_keypoints_{train,val}2017.json`` + images, 6 images each."""
    root = tmp_path_factory.mktemp("coco_kp")
    write_synthetic_coco(root, "train2017", 6, seed=1)
    write_synthetic_coco(root, "val2017", 6, seed=1)
    return root


@pytest.fixture()
def task(synthetic_root: Path, tmp_path: Path) -> KeypointsTask:
    """The keypoints task at 64 px (seed 3) over a copy of :func:`synthetic_root`."""
    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root)
    return KeypointsTask(KeypointsConfig(data_dir=str(root)), TaskContext(resolution=64, data_dir=root, seed=3))
