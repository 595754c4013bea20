"""Keypoints on user images: the structured request, and the COCO files written in the image's own pixels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from idiff.errors import ConfigError
from idiff.tasks.api import InputImage, TaskContext
from pycocotools.coco import COCO

from idiff_keypoints.config import KeypointsConfig
from idiff_keypoints.encoding import COLOURS, draw_disks
from idiff_keypoints.layouts import COCO_KEYPOINT_NAMES
from idiff_keypoints.prediction import KeypointsRequest
from idiff_keypoints.task import KeypointsTask

RES = 64


@pytest.fixture()
def task(tmp_path: Path) -> KeypointsTask:
    # no dataset under data_dir: joint names are read against the COCO-17 layout
    return KeypointsTask(KeypointsConfig(data_dir=str(tmp_path / "none")), TaskContext(RES, tmp_path / "none"))


def source() -> np.ndarray:
    return np.full((RES, RES, 3), 90, np.uint8)


def test_every_joint_is_asked_once_in_chunks_of_five(task: KeypointsTask) -> None:
    requests = task.predict_requests(source(), KeypointsRequest())
    assert len(requests) == 4  # ceil(17 / 5)
    asked = [j for r in requests for j in r.meta["joints"]]
    assert sorted(asked) == list(range(17))
    for r in requests:
        assert len(set(r.meta["colours"])) == len(r.meta["colours"]) <= 5
    assert "left wrist" in " ".join(r.instruction for r in requests)


def test_named_joints_any_spelling_and_chosen_colours(task: KeypointsTask) -> None:
    request = KeypointsRequest(joints=["Left Wrist", "nose"], colours=["blue", "yellow"], template=3)
    (only,) = task.predict_requests(source(), request)
    assert only.meta["joints"] == [COCO_KEYPOINT_NAMES.index("left_wrist"), 0]
    assert only.meta["colours"] == ["blue", "yellow"]
    assert only.instruction == (
        "Draw a blue circle on the left wrist of the people, Draw a yellow circle on the nose of the people."
    )


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (KeypointsRequest(joints=["left_wirst"]), r"unknown joint 'left_wirst'; allowed: nose, left_eye, .*ankle"),
        (KeypointsRequest(joints=["nose", "nose"]), "named twice"),
        (KeypointsRequest(joints=["nose"], colours=["red", "blue"]), "2 colours for 1 joints"),
        (KeypointsRequest(joints=["nose"], colours=["teal"]), "unknown colour 'teal'; known: red, green"),
        (KeypointsRequest(joints=["nose", "left_eye"], colours=["red", "red"]), "must be distinct"),
        (KeypointsRequest(template=99), r"request.template: 99 is not in 0..11"),
    ],
)
def test_bad_requests_name_the_field_and_the_allowed_values(task: KeypointsTask, request_, message) -> None:
    with pytest.raises(ConfigError, match=message):
        task.predict_requests(source(), request_)


def test_decoded_disks_land_in_coco_files_in_image_pixels(task: KeypointsTask, tmp_path: Path) -> None:
    # a 160 x 100 photo: the model saw its centre square x 30..130, scaled 100 / 64
    origin = InputImage(path="photos/p.jpg", name="p", width=160, height=100, box=(30.0, 0.0, 130.0, 100.0))
    request = KeypointsRequest(joints=["nose", "left_wrist", "right_ankle"])
    requests = task.predict_requests(source(), request)
    for r in requests:
        r.origin = origin
    at = np.array([[20.0, 12.0], [44.0, 30.0], [10.0, 50.0]])  # where the "model" drew the disks, source pixels
    (req,) = requests
    generated = draw_disks(req.source, at, [COLOURS[c] for c in req.meta["colours"]], task.radius)
    prediction = task.decode(generated, req)
    files = task.write_predictions(requests, [prediction], tmp_path)
    assert sorted(p.name for p in files) == ["keypoints.json", "keypoints_results.json"]

    coco = COCO(str(tmp_path / "keypoints.json"))  # pycocotools reads it as a COCO keypoints file
    (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert coco.loadImgs([1])[0]["file_name"] == "p.jpg" and ann["num_keypoints"] == 3
    kp = np.asarray(ann["keypoints"]).reshape(17, 3)
    expected = 30.0 + (at + 0.5) * 100 / 64 - 0.5  # pixel centres of the source, in photo pixels
    expected[:, 1] -= 30.0
    joints = [0, COCO_KEYPOINT_NAMES.index("left_wrist"), COCO_KEYPOINT_NAMES.index("right_ankle")]
    np.testing.assert_allclose(kp[joints, :2], expected, atol=0.05)
    assert (kp[joints, 2] == 2).all() and (kp[np.setdiff1d(np.arange(17), joints)] == 0).all()
    results = coco.loadRes(str(tmp_path / "keypoints_results.json"))
    assert results.getImgIds() == [1] and len(json.loads((tmp_path / "keypoints_results.json").read_text())) == 1


def test_a_mirrored_view_is_mirrored_back_and_merged(tmp_path: Path) -> None:
    """flip_test on predict: the mirrored image names each joint's mirror, and its answer lands on the joint."""
    cfg = KeypointsConfig(data_dir=str(tmp_path / "none"), flip_test=True)
    task = KeypointsTask(cfg, TaskContext(RES, tmp_path / "none"))
    origin = InputImage(path="p.png", name="p", width=RES, height=RES, box=(0.0, 0.0, float(RES), float(RES)))
    plain, mirrored = task.predict_requests(source(), KeypointsRequest(joints=["nose", "left_wrist"]))
    assert (plain.meta["view"], mirrored.meta["view"]) == (0, 1)
    assert "left wrist" in plain.instruction and "right wrist" in mirrored.instruction
    assert mirrored.meta["joints"] == plain.meta["joints"] and mirrored.meta["colours"] == plain.meta["colours"]
    at = np.array([[20.0, 12.0], [44.0, 30.0]])  # nose and left wrist in the image as given
    seen = {0: at, 1: at + [[1.0, 0.0], [0.0, 2.0]]}  # the mirrored view's answers miss by 1 and 2 px
    predictions = []
    for r in (plain, mirrored):
        r.origin = origin
        points = seen[r.meta["view"]].copy()
        if r.meta["flipped"]:
            points[:, 0] = RES - 1 - points[:, 0]  # where the disks lie in the mirrored source
        generated = draw_disks(r.source, points, [COLOURS[c] for c in r.meta["colours"]], task.radius)
        predictions.append(task.decode(generated, r))
    task.write_predictions([plain, mirrored], predictions, tmp_path)
    kp = np.asarray(json.loads((tmp_path / "keypoints.json").read_text())["annotations"][0]["keypoints"])
    kp = kp.reshape(17, 3)[[0, COCO_KEYPOINT_NAMES.index("left_wrist")], :2]
    np.testing.assert_allclose(kp, at + [[0.5, 0.0], [0.0, 1.0]], atol=0.1)  # the average of the two views
