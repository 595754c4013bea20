"""Segmentation on user images: the structured requests, mask PNGs with a COCO instances file, COCO-Stuff label maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from idiff.errors import ConfigError
from idiff.tasks.api import InputImage, TaskContext
from PIL import Image
from pycocotools.coco import COCO
from skimage.measure import regionprops

from idiff_segmentation.config import ReferringConfig, SemanticConfig
from idiff_segmentation.encoding import overlay_mask
from idiff_segmentation.labelmaps import IGNORE_INDEX, read_labels_txt
from idiff_segmentation.prediction import ReferringRequest, SemanticRequest
from idiff_segmentation.referring_task import ReferringSegmentationTask
from idiff_segmentation.semantic_task import SemanticSegmentationTask

RES = 64
# a 100 x 80 photo: the model saw its centre square x 10..90, scaled 80 / 64
ORIGIN = InputImage(path="in/photo.png", name="photo", width=100, height=80, box=(10.0, 0.0, 90.0, 80.0))


def source() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(60, 190, (RES, RES, 3), dtype=np.uint8)


def disk(cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:RES, 0:RES]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


@pytest.fixture()
def referring(tmp_path: Path) -> ReferringSegmentationTask:
    return ReferringSegmentationTask(ReferringConfig(data_dir=str(tmp_path)), TaskContext(RES, tmp_path))


@pytest.fixture()
def semantic(tmp_path: Path) -> SemanticSegmentationTask:
    return SemanticSegmentationTask(SemanticConfig(data_dir=str(tmp_path)), TaskContext(RES, tmp_path))


def answered(task, request):
    requests = task.predict_requests(source(), request)
    for r in requests:
        r.origin = ORIGIN
    return requests


def test_referring_request_builds_one_instruction_with_the_expression(referring) -> None:
    (only,) = referring.predict_requests(source(), ReferringRequest(expression=" the red circle ", colour="blue"))
    assert only.instruction == "Mark the pixels of the red circle in blue and leave the rest unchanged."
    assert only.meta["colour"] == "blue"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ReferringRequest(), "request.expression: give an expression"),
        (ReferringRequest(expression="x", colour="teal"), "request.colour: 'teal' is not one of contrast, random, red"),
        (ReferringRequest(expression="x", template=12), r"request.template: 12 is not in 0..11"),
    ],
)
def test_bad_referring_requests_say_what_is_allowed(referring, request_, message) -> None:
    with pytest.raises(ConfigError, match=message):
        referring.predict_requests(source(), request_)


def test_referring_mask_png_and_coco_instances_in_image_pixels(referring, tmp_path: Path) -> None:
    (req,) = answered(referring, ReferringRequest(expression="the blob", colour="red"))
    truth = disk(40, 20, 9)
    prediction = referring.decode(overlay_mask(req.source, truth, "red"), req)
    assert (prediction == truth).mean() > 0.99
    written = referring.write_predictions([req], [prediction], tmp_path / "out")
    assert {p.name for p in written} == {"photo.png", "instances.json"}
    png = np.asarray(Image.open(tmp_path / "out" / "masks" / "photo.png"))
    assert png.shape == (80, 100) and set(np.unique(png)) <= {0, 255}
    assert not png[:, :10].any() and not png[:, 90:].any()  # outside the square the model saw
    coco = COCO(str(tmp_path / "out" / "instances.json"))
    (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    np.testing.assert_array_equal(coco.annToMask(ann), png // 255)
    min_row, min_col, max_row, max_col = regionprops(png // 255)[0].bbox  # scikit-image, independent
    assert ann["bbox"] == [min_col, min_row, max_col - min_col, max_row - min_row]
    assert ann["expression"] == "the blob" and ann["area"] == int((png > 0).sum())


def test_semantic_label_map_in_the_cocostuff_layout(semantic, tmp_path: Path) -> None:
    requests = answered(semantic, SemanticRequest(classes=["sky", "grass"], colour="red"))
    assert [r.instruction for r in requests] == [
        "Mark the pixels of sky in red and leave the rest unchanged.",
        "Mark the pixels of grass in red and leave the rest unchanged.",
    ]
    sky, grass = np.zeros((RES, RES), bool), np.zeros((RES, RES), bool)
    sky[:20], grass[40:] = True, True
    generated = [overlay_mask(r.source, m, "red") for r, m in zip(requests, (sky, grass), strict=True)]
    predictions = [semantic.decode(g, r) for g, r in zip(generated, requests, strict=True)]
    semantic.write_predictions(requests, predictions, tmp_path / "out")
    labels = np.asarray(Image.open(tmp_path / "out" / "labels" / "photo.png"))
    assert labels.shape == (80, 100)
    assert (labels[:20, 10:90] == 0).mean() > 0.95 and (labels[55:, 10:90] == 1).mean() > 0.95
    assert (labels[35:45, 10:90] == IGNORE_INDEX).all() and (labels[:, :10] == IGNORE_INDEX).all()
    assert read_labels_txt(tmp_path / "out" / "labels.txt") == {0: "unlabeled", 1: "sky", 2: "grass"}


def test_semantic_needs_a_class(semantic) -> None:
    with pytest.raises(ConfigError, match="request.classes: give at least one class name"):
        semantic.predict_requests(source(), SemanticRequest())
