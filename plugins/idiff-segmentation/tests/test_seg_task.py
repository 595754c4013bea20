"""The two tasks end to end without Lightning, on synthetic data in the real layouts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from idiff.tasks.api import EditSample, TaskContext
from PIL import Image
from torch.utils.data import DataLoader

from idiff_segmentation.encoding import COLOUR_NAMES
from idiff_segmentation.referring_task import ReferringConfig, ReferringSegmentationTask
from idiff_segmentation.semantic_task import SemanticConfig, SemanticSegmentationTask
from idiff_segmentation.synthetic_stuff import STUFF_CLASSES

RES = 64  # the run resolution; the session fixtures (conftest.py) write images of this size


def _copy(root: Path, tmp_path: Path) -> Path:
    shutil.copytree(root, tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture()
def referring(refcoco_root: Path, tmp_path: Path) -> ReferringSegmentationTask:
    root = _copy(refcoco_root, tmp_path)
    return ReferringSegmentationTask(ReferringConfig(data_dir=str(root)), TaskContext(RES, root, seed=3))


@pytest.fixture()
def semantic(cocostuff_root: Path, tmp_path: Path) -> SemanticSegmentationTask:
    root = _copy(cocostuff_root, tmp_path)
    return SemanticSegmentationTask(SemanticConfig(data_dir=str(root)), TaskContext(RES, root, seed=3))


def test_config_defaults_and_validation() -> None:
    cfg = ReferringConfig()
    assert (cfg.guidance.text, cfg.guidance.image) == (7.5, 1.5) and cfg.overlay_alpha == 0.5
    assert (cfg.dataset, cfg.train_split, cfg.val_split) == ("refcoco", "train", "val")
    assert SemanticConfig().absent_class_prob == 0.2 and SemanticConfig().val_split_name == "val2017"
    assert SemanticConfig(dataset="ade20k").train_split_name == "training"
    with pytest.raises(ValueError, match="dataset must be one of refcoco, refcoco\\+, refcocog, grefcoco"):
        ReferringConfig(dataset="refclef")
    with pytest.raises(ValueError, match="split_by of refcocog must be one of umd, google"):
        ReferringConfig(dataset="refcocog", split_by="unc")
    with pytest.raises(ValueError, match="image_pattern .* may only use"):
        ReferringConfig(image_pattern="{image}.jpg")
    with pytest.raises(ValueError, match="test_colour must be one of contrast, random, red"):
        SemanticConfig(test_colour="pink")
    with pytest.raises(ValueError, match=r"absent_class_prob must be in \[0, 1\]"):
        SemanticConfig(absent_class_prob=1.5)


def test_prepare_data_writes_each_layout_and_keeps_a_complete_one(tmp_path: Path) -> None:
    small = {"synthetic_train_images": 2, "synthetic_val_images": 1, "synthetic_image_size": 32}
    ref = ReferringSegmentationTask(ReferringConfig(dataset="refcocog", **small), TaskContext(32, tmp_path / "r"))
    ref.prepare_data()
    assert (tmp_path / "r/refcocog/refs(umd).p").is_file() and (tmp_path / "r/refcocog/instances.json").is_file()
    assert len(list((tmp_path / "r/images/train2014").glob("COCO_train2014_*.jpg"))) == 3
    stamp = ref.refs_file.stat().st_mtime_ns
    ref.prepare_data()
    assert ref.refs_file.stat().st_mtime_ns == stamp  # complete: left alone
    sem = SemanticSegmentationTask(SemanticConfig(**small), TaskContext(32, tmp_path / "s"))
    sem.prepare_data()
    assert (tmp_path / "s/labels.txt").read_text().splitlines()[:2] == ["0: unlabeled", "1: sky"]
    assert len(list((tmp_path / "s/annotations/val2017").glob("*.png"))) == 1
    assert not list(tmp_path.rglob("*.tmp"))
    # images written but no labels file (an interrupted run): not mistaken for a complete dataset
    (tmp_path / "s/labels.txt").unlink()
    sem.prepare_data()
    assert (tmp_path / "s/labels.txt").is_file()
    ade = SemanticSegmentationTask(SemanticConfig(dataset="ade20k"), TaskContext(32, tmp_path / "a"))
    with pytest.raises(ValueError, match="synthetic data is written in the cocostuff layout only"):
        ade.prepare_data()


def test_referring_train_samples(referring: ReferringSegmentationTask) -> None:
    ds = referring.train_dataset()
    assert len(ds) == len(referring.split("train").by_ref())
    changed = 0
    for i in range(len(ds)):
        s = ds[i]
        assert isinstance(s, EditSample) and s.source.shape == s.target.shape == (RES, RES, 3)
        assert s.source.dtype == s.target.dtype == np.uint8
        assert any(c in s.instruction for c in COLOUR_NAMES)
        assert any(k in s.instruction for k in ("circle", "square", "triangle"))
        changed += not np.array_equal(s.source, s.target)
    assert changed >= len(ds) - 2  # a shape painted in its own colour can stay unchanged
    assert len(next(iter(DataLoader(ds, batch_size=3, collate_fn=list)))) == 3


def test_referring_requests_decode_evaluate(referring: ReferringSegmentationTask, tmp_path: Path) -> None:
    reqs = referring.test_requests()
    assert len(reqs) == len(referring.split("val").expressions) > 0
    r = reqs[0]
    assert r.source.shape == r.target.shape == (RES, RES, 3) and r.meta["colour"] in r.instruction
    preds = [referring.decode(q.target, q) for q in reqs]
    m = referring.evaluate(reqs, preds, tmp_path)
    assert m["cIoU"] >= 0.99 and m["mIoU"] >= 0.99 and m["Pr@0.9"] >= 0.95, m
    written = sorted((tmp_path / "masks").glob("*.png"))
    assert len(written) == len(reqs) and np.asarray(Image.open(written[0])).max() == 255
    ident = referring.evaluate(reqs, [referring.decode(q.source, q) for q in reqs], tmp_path / "identity")
    assert ident["cIoU"] == 0.0 and ident["mIoU"] == 0.0
    view = referring.render(r, preds[0])
    assert view.shape == r.source.shape and view.dtype == np.uint8 and not np.array_equal(view, r.source)
    referring.config.max_test_requests = 3
    assert len(referring.test_requests()) == 3


def test_grefcoco_no_target_requests(grefcoco_root: Path, tmp_path: Path) -> None:
    root = _copy(grefcoco_root, tmp_path)
    task = ReferringSegmentationTask(ReferringConfig(dataset="grefcoco", data_dir=str(root)), TaskContext(RES, root))
    reqs = task.test_requests()
    empty = [q for q in reqs if q.meta["no_target"]]
    assert empty and all(np.array_equal(q.target, q.source) for q in empty)  # the unchanged image
    m = task.evaluate(reqs, [task.decode(q.target, q) for q in reqs], tmp_path)
    assert m["cIoU"] >= 0.99 and m["N-acc"] == 1.0 and m["T-acc"] == 1.0, m
    ident = task.evaluate(reqs, [task.decode(q.source, q) for q in reqs], tmp_path / "identity")
    assert ident["N-acc"] == 1.0 and ident["T-acc"] == 0.0 and ident["mIoU"] == pytest.approx(len(empty) / len(reqs))


def test_semantic_train_samples_name_absent_classes_one_time_in_five(semantic: SemanticSegmentationTask) -> None:
    torch.manual_seed(0)  # the per-worker generator mixes in torch.initial_seed(): fix it for a fixed draw
    ds = semantic.train_dataset()
    data = semantic.split("train2017")
    assert len(ds) == len(data.items) == 6
    absent = total = 0
    for _ in range(40):
        for i in range(len(ds)):
            s = ds[i]
            assert s.source.shape == s.target.shape == (RES, RES, 3) and s.target.dtype == np.uint8
            present = {STUFF_CLASSES[c] for c in np.unique(data.load_labels(data.items[i])) if c != 255}
            named = [c for c in STUFF_CLASSES if f" {c} " in f" {s.instruction.replace(',', ' ').replace(';', ' ')} "]
            assert len(named) == 1, s.instruction
            if named[0] not in present:
                absent += 1
                assert np.array_equal(s.source, s.target)
            total += 1
    assert 0.13 < absent / total < 0.27


def test_semantic_requests_decode_evaluate(semantic: SemanticSegmentationTask, tmp_path: Path) -> None:
    reqs = semantic.test_requests()
    data = semantic.split("val2017")
    per_image = [len([c for c in np.unique(data.load_labels(it)) if c != 255]) for it in data.items]
    assert len(reqs) == sum(per_image)
    preds = [semantic.decode(q.target, q) for q in reqs]
    m = semantic.evaluate(reqs, preds, tmp_path)
    assert set(m) == {"mcIoU", "mIoU", "aAcc"} and m["mcIoU"] >= 0.97 and m["mIoU"] >= 0.97, m
    assert len(list((tmp_path / "masks").glob("*.png"))) == len(reqs)
    ident = semantic.evaluate(reqs, [semantic.decode(q.source, q) for q in reqs], tmp_path / "identity")
    assert ident == {"mcIoU": 0.0, "mIoU": 0.0, "aAcc": 0.0}
    semantic.config.max_test_requests = per_image[0] + 1  # whole images only, never more than the cap
    capped = semantic.test_requests()
    assert len(capped) == per_image[0] and {q.meta["item"] for q in capped} == {0}
    semantic.config.max_test_requests = 2  # a first image larger than the cap is cut
    assert len(semantic.test_requests()) == 2
