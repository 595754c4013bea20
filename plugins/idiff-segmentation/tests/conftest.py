"""Shared fixtures: tiny synthetic REFER, gRefCOCO and COCO-Stuff datasets written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from idiff_segmentation.synthetic_refer import write_synthetic_refer
from idiff_segmentation.synthetic_stuff import write_synthetic_cocostuff

#: Run resolution of the task tests; the synthetic images have the same size, so nothing is resized.
RES = 64


@pytest.fixture(scope="session")
def refcoco_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/refcoco/refs(unc).p`` + ``instances.json`` + ``images/train2014/``: 6 train, 4 val images."""
    root = tmp_path_factory.mktemp("refcoco")
    write_synthetic_refer(root, "refcoco", num_train=6, num_val=4, seed=1, image_size=RES)
    return root


@pytest.fixture(scope="session")
def grefcoco_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/grefcoco/grefs(unc).json`` + ``instances.json`` + images: 6 train, 6 val images."""
    root = tmp_path_factory.mktemp("grefcoco")
    write_synthetic_refer(root, "grefcoco", num_train=6, num_val=6, seed=2, image_size=RES)
    return root


@pytest.fixture(scope="session")
def cocostuff_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/images|annotations/{train2017,val2017}/`` + ``labels.txt``: 6 train, 4 val landscapes."""
    root = tmp_path_factory.mktemp("cocostuff")
    write_synthetic_cocostuff(root, {"train2017": 6, "val2017": 4}, seed=1, image_size=RES)
    return root
