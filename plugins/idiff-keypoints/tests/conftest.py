"""Shared fixtures: a tiny synthetic COCO keypoint dataset written once per test session, the task over a copy, and
model-output-like encodings for the decoder tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from idiff.tasks.api import TaskContext
from PIL import Image, ImageFilter

from idiff_keypoints.encoding import COLOURS, draw_disks
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


def _model_like_pair(
    rng: np.random.Generator, size: int, colours: list[str], radius: float, centres: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A random smooth source and its encoding with one disk per colour (at ``centres``, else uniform), blurred
    (0.8 px), noised (sigma 8) and tinted (+-10 per channel) like a model output: ``(generated, source)``."""
    source = rng.integers(0, 256, (max(size // 8, 1), max(size // 8, 1), 3), dtype=np.uint8)
    source = np.asarray(Image.fromarray(source).resize((size, size), Image.Resampling.BILINEAR))
    centres = rng.uniform(0, size - 1, (len(colours), 2)) if centres is None else centres
    target = draw_disks(source, centres, [COLOURS[c] for c in colours], radius)
    blurred = np.asarray(Image.fromarray(target).filter(ImageFilter.GaussianBlur(0.8)), np.float32)
    noisy = blurred + rng.normal(0, 8, blurred.shape) + rng.uniform(-10, 10, 3)
    return np.clip(noisy, 0, 255).astype(np.uint8), source


@pytest.fixture()
def model_like_pair() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """``(rng, size, colours, radius, centres=None) -> (generated, source)``: see :func:`_model_like_pair`."""
    return _model_like_pair
