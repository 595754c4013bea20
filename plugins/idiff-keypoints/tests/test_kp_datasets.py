"""The keypoint datasets beyond COCO: CrowdPose, MPII, AIC, AP-10K, HumanArt (layouts, readers, sigmas, fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from idiff.errors import ConfigError

from idiff_keypoints.aic import aic_to_coco
from idiff_keypoints.catalogue import LAYOUT_NAMES, match_layout, named_layout, resolve_layout
from idiff_keypoints.coco import CocoKeypointsError
from idiff_keypoints.crops import Augmentation, make_crop
from idiff_keypoints.evaluation import evaluate_keypoints, person_result
from idiff_keypoints.layouts import COCO_SIGMAS, LayoutError, flip_pairs_from_names, human_readable
from idiff_keypoints.mpii import mpii_to_coco
from idiff_keypoints.readers import load_keypoints
from idiff_keypoints.synthetic import write_synthetic_keypoints

#: Flip pairs and the lower-body joints of each layout, as mmpose's dataset files give them ("swap" and
#: "type": "lower" of configs/_base_/datasets/<name>.py): an independent statement of the same facts.
MMPOSE = {
    "coco": ([(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)], {11, 12, 13, 14, 15, 16}),
    "crowdpose": ([(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)], {6, 7, 8, 9, 10, 11}),
    "mpii": ([(0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)], {0, 1, 2, 3, 4, 5, 6}),
    "aic": ([(0, 3), (1, 4), (2, 5), (6, 9), (7, 10), (8, 11)], {6, 7, 8, 9, 10, 11}),
    "ap10k": ([(0, 1), (5, 8), (6, 9), (7, 10), (11, 14), (12, 15), (13, 16)], {4, 11, 12, 13, 14, 15, 16}),
    "humanart": ([(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)], {11, 12, 13, 14, 15, 16}),
}
JOINTS = {"coco": 17, "crowdpose": 14, "mpii": 16, "aic": 14, "ap10k": 17, "humanart": 17}

#: (format, layout, annotation pattern, image folder) of each dataset's synthetic fixture, in its release's naming.
FIXTURES = {
    "coco": ("coco", "coco", "annotations/person_keypoints_{split}.json", "{split}"),
    "crowdpose": ("coco", "crowdpose", "annotations/crowdpose_{split}.json", "images"),
    "mpii": ("mpii", "auto", "annotations/mpii_{split}.json", "images"),
    "aic": ("aic", "auto", "annotations/keypoint_{split}_annotations.json", "keypoint_{split}_images"),
    "ap10k": ("coco", "ap10k", "annotations/ap10k-{split}-split1.json", "data"),
    "humanart": ("coco", "humanart", "HumanArt/annotations/{split}_humanart.json", ""),
}


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_layouts_match_mmpose(name: str) -> None:
    layout = named_layout(name)
    pairs, lower = MMPOSE[name]
    assert layout.num_joints == JOINTS[name] == len(layout.sigmas)
    assert list(layout.flip_pairs) == pairs
    assert set(layout.lower_body().tolist()) == lower
    assert set(layout.upper_body().tolist()) == set(range(layout.num_joints)) - lower
    assert match_layout(layout.names) == ("coco" if name == "humanart" else name)


def test_published_sigmas() -> None:
    assert named_layout("humanart").sigmas == COCO_SIGMAS
    assert named_layout("crowdpose").sigmas[-2:] == (0.079, 0.079)  # head and neck (crowdposetools)
    assert named_layout("aic").sigmas[0] == pytest.approx(0.01388152)  # AIC keypoint_eval.py: delta / 2
    assert named_layout("ap10k").sigmas[4] == 0.035  # root of tail
    assert named_layout("mpii").sigmas[9] == 0.026  # head top


def test_original_spellings_pair_up_and_read_well() -> None:
    mpii_own = ["r ankle", "r knee", "r hip", "l hip", "l knee", "l ankle", "pelvis", "thorax", "upper neck",
                "head top", "r wrist", "r elbow", "r shoulder", "l shoulder", "l elbow", "l wrist"]
    assert flip_pairs_from_names(mpii_own) == MMPOSE["mpii"][0]
    assert match_layout(mpii_own) == "mpii"
    assert human_readable("r_ankle") == "right ankle" and human_readable("L_F_Paw") == "left front paw"
    assert human_readable("left_wrist") == "left wrist"


def test_a_category_that_is_not_the_named_layout_is_refused() -> None:
    coco = named_layout("coco").to_category()
    with pytest.raises(LayoutError, match="f.json: .*17 keypoints that are not layout 'crowdpose'.*task.layout=auto"):
        resolve_layout(coco, "crowdpose", source="f.json")
    aic_names = {"id": 1, "keypoints": list(named_layout("aic").names)}
    with pytest.raises(LayoutError, match="joint 0 is 'right_shoulder', layout has 'left_shoulder'"):
        resolve_layout(aic_names, "crowdpose")
    own = resolve_layout({"keypoints": ["head", "tail"]}, "auto", sigmas=[0.1, 0.2])
    assert own.sigmas == (0.1, 0.2) and own.num_joints == 2


def test_flip_augmentation_swaps_mpii_sides() -> None:
    layout = named_layout("mpii")
    kp = np.zeros((16, 3))
    kp[:, :2] = np.random.default_rng(0).uniform(20, 80, (16, 2))
    kp[:, 2] = 2
    image = np.zeros((100, 100, 3), np.uint8)
    _, plain, _ = make_crop(image, (10, 10, 80, 80), kp, 64, layout)
    _, flipped, _ = make_crop(image, (10, 10, 80, 80), kp, 64, layout, Augmentation(flip=True))
    left_ankle, right_ankle = 5, 0
    np.testing.assert_allclose(flipped[left_ankle, :2], [63 - plain[right_ankle, 0], plain[right_ankle, 1]])
    np.testing.assert_allclose(flipped[6, :2], [63 - plain[6, 0], plain[6, 1]])  # pelvis stays the pelvis


@pytest.mark.parametrize("dataset", FIXTURES)
def test_each_dataset_fixture_reads_and_scores_ap_one(dataset: str, tmp_path: Path) -> None:
    fmt, layout, pattern, image_dir = FIXTURES[dataset]
    written = write_synthetic_keypoints(tmp_path, "val", 4, seed=2, image_size=64, pattern=pattern,
                                        image_dir=image_dir, layout=layout, fmt=fmt)
    data = load_keypoints(fmt, tmp_path, "val", pattern, image_dir, layout=layout)
    expected = named_layout(dataset)
    assert data.layout.names == expected.names and data.layout.sigmas == expected.sigmas
    assert len(data.instances) >= 4 and all(i.image_path.is_file() for i in data.instances)
    results = [person_result(i.image_id, i.category_id, np.c_[i.keypoints[:, :2], np.ones(len(i.keypoints))])
               for i in data.instances]
    metrics = evaluate_keypoints(data.coco, results, tmp_path, data.layout.sigmas)
    assert metrics["AP"] == pytest.approx(1.0) and metrics["AR"] == pytest.approx(1.0), metrics
    if dataset == "ap10k":  # one category per species, both read
        assert {i.category_id for i in data.instances} == {1, 2}
    assert written == tmp_path / pattern.format(split="val")


@pytest.mark.parametrize("dataset", ["crowdpose", "mpii", "aic", "ap10k"])
def test_the_task_runs_each_format_end_to_end(dataset: str, idiff_task, tmp_path: Path) -> None:
    fmt, layout, pattern, image_dir = FIXTURES[dataset]
    task = idiff_task("keypoints", resolution=64, format=fmt, layout=layout, annotation_pattern=pattern,
                      image_dir_pattern=image_dir, train_split="train", val_split="val", synthetic_train_images=2,
                      synthetic_val_images=2, synthetic_image_size=64)
    task.prepare_data()
    requests = task.test_requests()
    assert {j for r in requests if r.meta["ann_id"] == 1 for j in r.meta["joints"]} == set(range(JOINTS[dataset]))
    metrics = task.evaluate(requests, [task.decode(r.target, r) for r in requests], tmp_path)
    assert metrics["AP"] == pytest.approx(1.0), metrics
    sample = task.train_dataset()[0]  # the augmentation runs with this layout's flip pairs and body halves
    assert sample.target.shape == (64, 64, 3)


def test_aic_conversion_of_a_hand_written_record(tmp_path: Path) -> None:
    keypoints = [0] * 42
    keypoints[0:3] = [15, 25, 1]  # right shoulder visible
    keypoints[3:6] = [16, 40, 2]  # right elbow occluded
    keypoints[6:9] = [0, 0, 3]  # right wrist not labelled
    for j in range(3, 14):
        keypoints[3 * j : 3 * j + 3] = [20 + j, 30 + j, 1]
    record = {"image_id": "0a1b2c", "url": "", "keypoint_annotations": {"human1": keypoints},
              "human_annotations": {"human1": [10, 20, 50, 120]}}
    data = aic_to_coco([record], tmp_path / "aic.json")
    ann = data["annotations"][0]
    assert data["images"][0]["file_name"] == "0a1b2c.jpg"
    assert ann["bbox"] == [10.0, 20.0, 40.0, 100.0] and ann["area"] == 4000.0 and ann["num_keypoints"] == 13
    assert ann["keypoints"][:9] == [15.0, 25.0, 2.0, 16.0, 40.0, 1.0, 0.0, 0.0, 0.0]
    bad = json.loads(json.dumps(record))
    bad["keypoint_annotations"]["human1"][2] = 4
    with pytest.raises(CocoKeypointsError, match=r"aic.json: record 0 \(0a1b2c\) human1 has visibility \[4\]"):
        aic_to_coco([bad], tmp_path / "aic.json")


def test_mpii_conversion_of_a_hand_written_record(tmp_path: Path) -> None:
    joints = [[float(30 + j), float(40 + 2 * j)] for j in range(16)]
    vis = [1] * 15 + [0]
    record = {"image": "000000123.jpg", "center": [101.0, 81.0], "scale": 0.5, "joints": joints, "joints_vis": vis}
    ann = mpii_to_coco([record], tmp_path / "mpii.json")["annotations"][0]
    # mmpose: centre (101, 81) + (0, 15 * 0.5), minus 1 (MATLAB) = (100, 87.5); side 200 * 0.5 = 100
    assert ann["image_id"] == 123 and ann["bbox"] == [50.5, 38.0, 100.0, 100.0] and ann["area"] == 10000.0
    assert ann["keypoints"][:3] == [29.0, 39.0, 2.0] and ann["keypoints"][-3:] == [0.0, 0.0, 0.0]
    with pytest.raises(CocoKeypointsError, match="record 0 is missing 'joints' .*not labelled"):
        mpii_to_coco([{k: v for k, v in record.items() if k != "joints"}], tmp_path / "mpii.json")


def test_format_and_layout_options_name_the_allowed_values(idiff_task) -> None:
    with pytest.raises(ConfigError, match="format must be one of coco, aic, mpii; got 'h5'"):
        idiff_task("keypoints", format="h5")
    with pytest.raises(ConfigError, match="layout must be one of auto, coco, crowdpose, mpii, aic, ap10k, humanart"):
        idiff_task("keypoints", layout="ochuman")
    with pytest.raises(ConfigError, match="layout 'coco' does not fit format 'aic'"):
        idiff_task("keypoints", format="aic", layout="coco")
