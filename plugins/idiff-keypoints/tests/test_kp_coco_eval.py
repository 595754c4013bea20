from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from idiff_keypoints.coco import CocoKeypointsError, load_coco_keypoints
from idiff_keypoints.evaluation import evaluate_keypoints, person_result, person_score
from idiff_keypoints.layouts import COCO_SIGMAS


def test_reader_loads_synthetic(synthetic_root: Path) -> None:
    data = load_coco_keypoints(synthetic_root, "val2017")
    assert data.layout.num_joints == 17 and data.category_id == 1
    assert 6 <= len(data.instances) <= 12
    inst = data.instances[0]
    assert inst.image_path.is_file() and inst.keypoints.shape == (17, 3) and inst.num_keypoints == 17
    x, y, w, h = inst.bbox
    assert w > 5 and h > 5 and 0 < inst.area <= w * h


def _mutated(root: Path, tmp: Path, fn) -> Path:
    data = json.loads((root / "annotations/person_keypoints_val2017.json").read_text())
    fn(data)
    (tmp / "annotations").mkdir(parents=True, exist_ok=True)
    (tmp / "annotations/person_keypoints_bad.json").write_text(json.dumps(data))
    return tmp


def test_reader_errors_name_file_and_key(synthetic_root: Path, tmp_path: Path) -> None:
    def wrong_count(d: dict) -> None:
        d["annotations"][0]["keypoints"] = d["annotations"][0]["keypoints"][:-3]

    def no_cat_kp(d: dict) -> None:
        del d["categories"][0]["keypoints"]

    def no_ann_kp(d: dict) -> None:
        del d["annotations"][1]["keypoints"]

    for fn, msg in (
        (wrong_count, "'keypoints' has 48 values, expected 51"),
        (no_cat_kp, "'keypoints'"),
        (no_ann_kp, "missing 'keypoints'"),
    ):
        root = _mutated(synthetic_root, tmp_path, fn)
        with pytest.raises(CocoKeypointsError, match="person_keypoints_bad.json") as err:
            load_coco_keypoints(root, "bad")
        assert msg in str(err.value) and "\n" not in str(err.value)
        assert isinstance(err.value, ValueError)
    with pytest.raises(CocoKeypointsError, match="not found"):
        load_coco_keypoints(tmp_path, "nope")


def test_ground_truth_scores_ap_one(synthetic_root: Path, tmp_path: Path) -> None:
    data = load_coco_keypoints(synthetic_root, "val2017")
    results = []
    for inst in data.instances:
        kp = inst.keypoints.copy()
        kp[:, 2] = 1.0
        results.append(person_result(inst.image_id, inst.category_id, kp))
    m = evaluate_keypoints(data.ann_file, results, tmp_path, COCO_SIGMAS)
    assert m["AP"] == pytest.approx(1.0) and m["AP50"] == pytest.approx(1.0) and m["AR"] == pytest.approx(1.0)
    assert set(m) == {"AP", "AP50", "AP75", "AP_M", "AP_L", "AR"}
    written = json.loads((tmp_path / "keypoints_results.json").read_text())
    assert len(written) == len(results) and len(written[0]["keypoints"]) == 51
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # shifted predictions score lower
    shifted = [dict(r, keypoints=[v + 6 if i % 3 < 2 else v for i, v in enumerate(r["keypoints"])]) for r in results]
    assert evaluate_keypoints(data.ann_file, shifted, tmp_path, COCO_SIGMAS)["AP"] < 0.9


def test_no_results_is_zero(synthetic_root: Path, tmp_path: Path) -> None:
    m = evaluate_keypoints(synthetic_root / "annotations/person_keypoints_val2017.json", [], tmp_path, COCO_SIGMAS)
    assert m["AP"] == 0.0 and json.loads((tmp_path / "keypoints_results.json").read_text()) == []


def test_person_score() -> None:
    assert person_score(np.array([0.9, 0.7, 0.0, 0.1])) == pytest.approx(0.8)
    assert person_score(np.zeros(3)) == 0.0


def test_reader_skips_crowd_and_unlabelled(synthetic_root: Path, tmp_path: Path) -> None:
    def mark(d: dict) -> None:
        d["annotations"][0]["iscrowd"] = 1
        d["annotations"][1]["keypoints"] = [0] * 51
        d["annotations"][1]["num_keypoints"] = 0

    n = len(load_coco_keypoints(synthetic_root, "val2017").instances)
    data = load_coco_keypoints(_mutated(synthetic_root, tmp_path, mark), "bad")
    assert len(data.instances) == n - 2
    assert {1, 2}.isdisjoint(i.ann_id for i in data.instances)


def test_pck_matches_a_hand_computation() -> None:
    from idiff_keypoints.evaluation import pck

    truth = np.array([[[10.0, 10.0, 2], [20.0, 20.0, 2], [30.0, 30.0, 0], [40.0, 40.0, 1]]])
    boxes = np.array([[0.0, 0.0, 50.0, 100.0]])  # longer side 100: thresholds 10 px and 20 px
    predicted = truth[..., :2] + np.array([[[5.0, 0.0], [0.0, 15.0], [99.0, 99.0], [30.0, 0.0]]])
    # distances 5, 15, (unlabelled), 30 -> PCK@0.1 = 1/3, PCK@0.2 = 2/3
    assert pck(predicted, truth, boxes) == pytest.approx({"PCK@0.1": 1 / 3, "PCK@0.2": 2 / 3})
    assert pck(truth[..., :2], truth, boxes) == {"PCK@0.1": 1.0, "PCK@0.2": 1.0}
