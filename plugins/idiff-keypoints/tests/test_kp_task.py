from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from idiff.tasks.api import EditSample, TaskContext
from torch.utils.data import DataLoader

from idiff_keypoints.encoding import COLOUR_NAMES
from idiff_keypoints.task import KeypointsConfig, KeypointsTask, identity_baseline

RES = 64


def test_config_defaults_and_validation() -> None:
    cfg = KeypointsConfig()
    assert (cfg.guidance.text, cfg.guidance.image) == (6.0, 0.5)
    assert cfg.train_split == "train2017" and cfg.max_keypoints_per_instruction == 5
    with pytest.raises(ValueError, match="<= 9"):
        KeypointsConfig(max_keypoints_per_instruction=10)


def test_prepare_data_writes_synthetic(tmp_path: Path) -> None:
    cfg = KeypointsConfig(synthetic_train_images=2, synthetic_val_images=1, synthetic_image_size=64)
    t = KeypointsTask(cfg, TaskContext(resolution=32, data_dir=tmp_path))
    t.prepare_data()
    assert (tmp_path / "annotations/person_keypoints_train2017.json").is_file()
    assert len(list((tmp_path / "val2017").glob("*.png"))) == 1
    assert len(t.train_dataset()) >= 2


def test_train_dataset_items(task: KeypointsTask) -> None:
    ds = task.train_dataset()
    names = task.layout.names
    for i in range(len(ds)):
        s = ds[i]
        assert isinstance(s, EditSample)
        assert s.source.shape == s.target.shape == (RES, RES, 3)
        assert s.source.dtype == s.target.dtype == np.uint8
        assert any(n.replace("_", " ") in s.instruction for n in names)
        assert any(c in s.instruction for c in COLOUR_NAMES)
    batch = next(iter(DataLoader(ds, batch_size=4, collate_fn=list)))
    assert len(batch) == 4


def test_requests_decode_evaluate_ap_one(task: KeypointsTask, tmp_path: Path) -> None:
    reqs = task.test_requests()
    persons = {r.meta["ann_id"] for r in reqs}
    assert len(reqs) == len(persons) * math.ceil(17 / 5)
    for ann in persons:
        joints = sorted(j for r in reqs if r.meta["ann_id"] == ann for j in r.meta["joints"])
        assert joints == list(range(17))
    r = reqs[0]
    assert r.target is not None and r.target.shape == r.source.shape == (RES, RES, 3)
    assert len(set(r.meta["colours"])) == len(r.meta["colours"]) <= 5
    preds = [task.decode(q.target, q) for q in reqs]
    m = task.evaluate(reqs, preds, tmp_path)
    assert m["AP"] == pytest.approx(1.0), m
    assert (tmp_path / "keypoints_results.json").is_file()
    view = task.render(r, preds[0])
    assert view.shape == r.source.shape and view.dtype == np.uint8 and not np.array_equal(view, r.source)


def test_identity_baseline_is_zero(task: KeypointsTask, tmp_path: Path) -> None:
    m = identity_baseline(task, tmp_path)
    assert m["AP"] < 0.05


def test_max_test_requests_caps_whole_images(task: KeypointsTask) -> None:
    task.config.max_test_requests = 5
    reqs = task.test_requests()
    assert 0 < len(reqs) <= 8 and len({r.meta["image_id"] for r in reqs}) == 1
