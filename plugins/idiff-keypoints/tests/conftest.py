"""Shared fixtures: a tiny synthetic COCO keypoint dataset written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from idiff_keypoints.synthetic import write_synthetic_coco


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/annotations/person_keypoints_{train,val}2017.json`` + images, 6 images each."""
    root = tmp_path_factory.mktemp("coco_kp")
    write_synthetic_coco(root, "train2017", 6, seed=1)
    write_synthetic_coco(root, "val2017", 6, seed=1)
    return root
