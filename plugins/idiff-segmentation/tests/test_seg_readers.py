"""REFER, gRefCOCO, COCO-Stuff and ADE20K fixtures, hand-written in the real layouts, are read correctly."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from idiff_segmentation.labelmaps import IGNORE_INDEX, LabelMapError, load_label_maps
from idiff_segmentation.refer import ReferError, load_referring, refs_path

H, W = 20, 30


def _known_masks() -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros((H, W), bool)
    a[3:9, 14:25] = True
    b = np.zeros((H, W), bool)
    b[12:18, 1:6] = True
    b[15, 6:9] = True
    return a, b


def _uncompressed_rle(mask: np.ndarray) -> dict:
    flat = mask.flatten(order="F").astype(np.int8)  # COCO runs go down the columns, starting with zeros
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return {"size": [H, W], "counts": np.diff(np.concatenate([[0], edges])).tolist()}


def _instances(root: Path, dataset: str) -> None:
    a, b = _known_masks()
    compressed = mask_utils.encode(np.asfortranarray(b.astype(np.uint8)))
    anns = [
        {"id": 7, "image_id": 42, "category_id": 1, "iscrowd": 0, "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]},
        {"id": 8, "image_id": 42, "category_id": 1, "iscrowd": 0, "segmentation": _uncompressed_rle(a)},
        {"id": 9, "image_id": 42, "category_id": 2, "iscrowd": 0,
         "segmentation": {"size": [H, W], "counts": compressed["counts"].decode()}},
    ]  # fmt: skip
    images = [{"id": 42, "file_name": "COCO_train2014_000000000042.jpg", "width": W, "height": H}]
    (root / dataset).mkdir(parents=True, exist_ok=True)
    (root / dataset / "instances.json").write_text(json.dumps({"images": images, "annotations": anns}))


def _sentences(*texts: str) -> list[dict]:
    return [{"sent_id": 100 + i, "sent": t, "raw": t.upper(), "tokens": t.split()} for i, t in enumerate(texts)]


def test_refer_layout(tmp_path: Path) -> None:
    _instances(tmp_path, "refcoco")
    refs = [
        {"ref_id": 0, "ann_id": 7, "image_id": 42, "split": "train", "category_id": 1,
         "sentences": _sentences("left box", "the box on the left")},
        {"ref_id": 1, "ann_id": 8, "image_id": 42, "split": "val", "category_id": 1,
         "sentences": _sentences("top box")},
        {"ref_id": 2, "ann_id": 9, "image_id": 42, "split": "testA", "category_id": 2, "sentences": _sentences("blob")},
    ]  # fmt: skip
    refs_path(tmp_path, "refcoco").write_bytes(pickle.dumps(refs, protocol=2))  # as the Python 2 release
    assert refs_path(tmp_path, "refcocog").name == "refs(umd).p"
    data = load_referring(tmp_path, "refcoco")
    assert [(e.ref_id, e.sentence) for e in data.expressions] == [
        (0, "left box"), (0, "the box on the left"), (1, "top box"), (2, "blob")
    ]  # fmt: skip
    assert data.images[42].path == tmp_path / "images/train2014/COCO_train2014_000000000042.jpg"
    a, b = _known_masks()
    by_ref = {e.ref_id: e for e in data.expressions}
    np.testing.assert_array_equal(data.mask(by_ref[1]), a)  # uncompressed RLE
    np.testing.assert_array_equal(data.mask(by_ref[2]), b)  # compressed RLE
    poly = data.mask(by_ref[0])  # polygon (2,2)-(12,10): pycocotools rasterises about 10 x 8 pixels
    ys, xs = np.nonzero(poly)
    assert poly.shape == (H, W) and abs(int(poly.sum()) - 80) <= 20 and (ys.min(), xs.min()) == (2, 2)
    val = load_referring(tmp_path, "refcoco", splits=["val"], image_pattern="jpg/{file_name}")
    assert [e.ref_id for e in val.expressions] == [1] and val.images[42].path.name.endswith("42.jpg")
    assert not any(e.no_target for e in data.expressions)
    with pytest.raises(ReferError, match=r"no refs in split testC; the file has: testA, train, val"):
        load_referring(tmp_path, "refcoco", splits=["testC"])


def test_grefcoco_layout_with_multi_and_no_target(tmp_path: Path) -> None:
    _instances(tmp_path, "grefcoco")
    refs = [
        {"ref_id": 0, "ann_id": [8, 9], "image_id": 42, "split": "val", "category_id": [1, 2], "no_target": False,
         "sentences": _sentences("both things")},
        {"ref_id": 1, "ann_id": [-1], "image_id": 42, "split": "val", "category_id": [-1], "no_target": True,
         "sentences": _sentences("the elephant")},
    ]  # fmt: skip
    path = refs_path(tmp_path, "grefcoco")
    assert path.name == "grefs(unc).json"
    path.write_text(json.dumps(refs))
    data = load_referring(tmp_path, "grefcoco", splits=["val"])
    both, none = data.expressions
    a, b = _known_masks()
    np.testing.assert_array_equal(data.mask(both), a | b)
    assert none.no_target and none.ann_ids == () and not data.mask(none).any() and data.mask(none).shape == (H, W)


def test_refer_errors_name_file_and_key(tmp_path: Path) -> None:
    _instances(tmp_path, "refcoco+")
    path = refs_path(tmp_path, "refcoco+")
    path.write_bytes(pickle.dumps([{"ref_id": 0, "ann_id": 7, "image_id": 42, "sentences": []}]))
    with pytest.raises(ReferError, match=r"refs\(unc\)\.p: ref 0 is missing 'split'"):
        load_referring(tmp_path, "refcoco+")
    path.write_bytes(pickle.dumps([{"ref_id": 0, "ann_id": 99, "image_id": 42, "split": "val",
                                    "sentences": _sentences("x")}]))  # fmt: skip
    with pytest.raises(ReferError, match=r"instances\.json: ref 0 refers to ann_id 99"):
        load_referring(tmp_path, "refcoco+")
    with pytest.raises(ReferError, match="refcoco\\+ has no splitBy 'umd'; it has: unc"):
        load_referring(tmp_path, "refcoco+", split_by="umd")
    with pytest.raises(ReferError, match="unknown referring dataset 'refclef'"):
        load_referring(tmp_path, "refclef")
    with pytest.raises(ReferError, match="refs file not found"):
        load_referring(tmp_path, "refcocog")


def _png(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values.astype(np.uint8)).save(path)


def test_cocostuff_layout(tmp_path: Path) -> None:
    labels = np.array([[0, 0, 5, 255], [5, 5, 200, 0]])  # 200: beyond the 7 classes listed -> ignored
    _png(tmp_path / "annotations/val2017/000000000139.png", labels)
    _png(tmp_path / "images/val2017/000000000139.jpg", np.zeros((2, 4, 3)))
    lines = [
        "0: unlabeled",
        "1: person",
        "2: bicycle",
        "3: car",
        "4: motorcycle",
        "5: airplane",
        "6: bus",
        "7: sky-other",
    ]
    (tmp_path / "labels.txt").write_text("\n".join(lines) + "\n")
    data = load_label_maps(tmp_path, "cocostuff", "val2017")
    assert data.num_classes == 7 and data.class_names[0] == "person" and data.class_names[5] == "bus"
    assert data.items[0].name == "000000000139" and data.items[0].image_path.suffix == ".jpg"
    np.testing.assert_array_equal(data.load_labels(data.items[0]), [[0, 0, 5, 255], [5, 5, 255, 0]])
    (tmp_path / "labels.txt").write_text("0 unlabeled\n")
    with pytest.raises(LabelMapError, match=r"labels\.txt:1: expected '<id>: <name>'"):
        load_label_maps(tmp_path, "cocostuff", "val2017")


def test_ade20k_layout(tmp_path: Path) -> None:
    base = tmp_path / "ADEChallengeData2016"
    _png(base / "annotations/validation/ADE_val_00000001.png", np.array([[0, 1, 3, 150]]))
    _png(base / "images/validation/ADE_val_00000001.jpg", np.zeros((1, 4, 3)))
    data = load_label_maps(tmp_path, "ade20k", "validation")
    assert data.num_classes == 150 and data.class_names[0] == "wall" and data.class_names[149] == "flag"
    np.testing.assert_array_equal(data.load_labels(data.items[0]), [[IGNORE_INDEX, 0, 2, 149]])
    (base / "images/validation/ADE_val_00000001.jpg").unlink()
    with pytest.raises(LabelMapError, match="ADE_val_00000001.png: no image ADE_val_00000001.jpg"):
        load_label_maps(tmp_path, "ade20k", "validation")
    with pytest.raises(LabelMapError, match="training.*not found"):
        load_label_maps(tmp_path, "ade20k", "training")
    with pytest.raises(LabelMapError, match="unknown semantic dataset 'voc'; known: cocostuff, ade20k"):
        load_label_maps(tmp_path, "voc", "val")
