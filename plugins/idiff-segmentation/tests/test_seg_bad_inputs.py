"""Bad input at every reader of the segmentation tasks: hand-made cases and hypothesis fuzzing.

REFER refs and instances, COCO segmentations (polygons, RLE), COCO-Stuff label maps, ``labels.txt`` and the images:
each bad input ends in a result or a one-line DataError naming the file; under ``data.on_error=skip`` a bad record
is counted and the task (train items, test requests, metrics) works on what is left.
"""

from __future__ import annotations

import copy
import json
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from idiff.tasks.api import DataError, ErrorPolicy, TaskContext
from idiff.testing.fuzz import WEIRD_VALUES, damaged_bytes, fuzz_settings, mutated_json
from PIL import Image

from idiff_segmentation.config import ReferringConfig, SemanticConfig
from idiff_segmentation.labelmaps import load_label_maps, read_labels_txt
from idiff_segmentation.masks import rle_from_mask, segmentation_mask
from idiff_segmentation.refer import load_referring, refs_path
from idiff_segmentation.referring_task import ReferringSegmentationTask
from idiff_segmentation.semantic_task import SemanticSegmentationTask


def assert_names_a_file(err: Exception, root: Path) -> None:
    assert isinstance(err, DataError), repr(err)
    assert str(root) in str(err) and "\n" not in str(err), str(err)


# ----------------------------------------------------------------------------------------------------------- REFER
def refer_copy(source: Path, folder: Path, refs: Any = None, instances: Any = None) -> Path:
    shutil.copytree(source, folder, dirs_exist_ok=True, symlinks=True)
    if refs is not None:
        refs_path(folder, "refcoco").write_bytes(pickle.dumps(refs, protocol=2))
    if instances is not None:
        (folder / "refcoco" / "instances.json").write_text(json.dumps(instances))
    return folder


@pytest.fixture(scope="module")
def refer_documents(refcoco_root: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    refs = pickle.loads(refs_path(refcoco_root, "refcoco").read_bytes())
    return refs, json.loads((refcoco_root / "refcoco" / "instances.json").read_text())


def _val_ref(refs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in refs if r["split"] == "val")


REF_CASES = [
    ("misspelt 'sentences'", lambda r, i: _val_ref(r).update(sentence=_val_ref(r).pop("sentences")),
     "is missing 'sentences'"),
    ("no sentence text", lambda r, i: _val_ref(r).update(sentences=[{"tokens": []}]), "has no 'sent' or 'raw'"),
    ("string ann_id", lambda r, i: _val_ref(r).update(ann_id="7"), "'ann_id' is '7'"),
    ("negative ref_id (found by the fuzzer: it seeds the request's colour)", lambda r, i: _val_ref(r).update(
        ref_id=-1), "'ref_id' is -1, expected an integer >= 0"),
    ("unknown image", lambda r, i: _val_ref(r).update(image_id=987654), "not in 'images'"),
    ("unknown annotation", lambda r, i: _val_ref(r).update(ann_id=987654), "not in 'annotations'"),
    ("annotation without segmentation", lambda r, i: next(
        a for a in i["annotations"] if a["id"] == _val_ref(r)["ann_id"]).pop("segmentation"),
     "is missing 'segmentation'"),
    ("list as an annotation id (found by the fuzzer: unhashable)", lambda r, i: next(
        a for a in i["annotations"] if a["id"] == _val_ref(r)["ann_id"]).update(id=[1]), "not in 'annotations'"),
    ("image width 0", lambda r, i: next(m for m in i["images"] if m["id"] == _val_ref(r)["image_id"]).update(width=0),
     "'width' is 0"),
]


@pytest.mark.parametrize("case, change, fragment", REF_CASES, ids=[c[0] for c in REF_CASES])
def test_hand_made_bad_refs(refcoco_root, refer_documents, tmp_path, case, change, fragment):
    refs, instances = copy.deepcopy(refer_documents)
    change(refs, instances)
    root = refer_copy(refcoco_root, tmp_path, refs, instances)
    with pytest.raises(DataError, match=fragment) as info:
        load_referring(root, "refcoco", splits=["val"])
    assert_names_a_file(info.value, root)
    policy = ErrorPolicy("skip")
    data = load_referring(root, "refcoco", splits=["val"], errors=policy)
    whole = load_referring(refcoco_root, "refcoco", splits=["val"])
    assert policy.count >= 1 and fragment in policy.skipped[0]
    assert 0 < len(data.expressions) < len(whole.expressions)


MASK_CASES = [
    ("polygon wholly outside", [[500, 500, 520, 500, 520, 520]], "lies wholly outside"),
    ("no polygon of 3 points", [[1, 2, 3, 4]], "no polygon of 3 or more"),
    ("polygon point at 2**70 (found by the fuzzer: pycocotools crashed)", [[0, 0, 2**70, 5, 3, 3]],
     "far outside its image"),
    ("RLE of another size", {"size": [3, 3], "counts": "9"}, "is not its image's"),
    ("RLE garbage counts", {"size": [64, 64], "counts": "zzzz"}, "not a valid run-length"),
    ("RLE runs too short", {"size": [64, 64], "counts": [5, 5]}, "not a valid run-length"),
    ("string polygon values", [["1", "2", "3", "4", "5", "6"]], "not numbers"),
    ("neither form", "polygon", "neither a list of polygons nor an RLE"),
]


@pytest.mark.parametrize("case, segmentation, fragment", MASK_CASES, ids=[c[0] for c in MASK_CASES])
def test_bad_masks_name_the_annotation(refcoco_root, refer_documents, tmp_path, case, segmentation, fragment):
    refs, instances = copy.deepcopy(refer_documents)
    target = _val_ref(refs)["ann_id"]
    next(a for a in instances["annotations"] if a["id"] == target)["segmentation"] = segmentation
    root = refer_copy(refcoco_root, tmp_path, refs, instances)
    data = load_referring(root, "refcoco", splits=["val"])
    expression = next(e for e in data.expressions if target in e.ann_ids)
    with pytest.raises(DataError, match=fragment) as info:
        data.mask(expression)
    assert_names_a_file(info.value, root) and f"annotation {target}" in str(info.value)
    task = _referring(root, "skip")
    assert len(task.test_requests()) == len(data.expressions) - sum(target in e.ann_ids for e in data.expressions)
    assert task.context.errors.count >= 1


@pytest.mark.parametrize("raw", [b"", b"\x80\x02]q", b"cos\nsystem\n(S'echo pwned'\ntR.", pickle.dumps({"a": 1})])
def test_unreadable_or_unsafe_refs_files(refcoco_root, tmp_path, raw):
    root = refer_copy(refcoco_root, tmp_path)
    refs_path(root, "refcoco").write_bytes(raw)
    for policy in ("raise", "skip"):
        with pytest.raises(DataError) as info:
            load_referring(root, "refcoco", splits=["val"], errors=ErrorPolicy(policy))
        assert_names_a_file(info.value, root)


def test_file_names_cannot_leave_the_dataset(refcoco_root, refer_documents, tmp_path):
    refs, instances = copy.deepcopy(refer_documents)
    for image in instances["images"]:
        image["file_name"] = "../../../../etc/passwd"
    root = refer_copy(refcoco_root, tmp_path, refs, instances)
    with pytest.raises(DataError, match="escapes the dataset root") as info:
        load_referring(root, "refcoco", splits=["val"], image_pattern="images/{file_name}")
    assert_names_a_file(info.value, root)


def _referring(root: Path, policy: str) -> ReferringSegmentationTask:
    return ReferringSegmentationTask(ReferringConfig(data_dir=str(root), synthetic=False, write_masks=False),
                                     TaskContext(resolution=32, data_dir=root, seed=0, errors=ErrorPolicy(policy)))


def _exercise(task: Any, root: Path, out: Path) -> None:
    train = task.train_dataset()
    for index in range(min(len(train), 3)):
        try:
            assert train[index].source.shape == (32, 32, 3)
        except DataError as err:
            assert_names_a_file(err, root)
    requests = task.test_requests()
    if requests:
        metrics = task.evaluate(requests, [task.decode(r.source, r) for r in requests], out)
        assert all(np.isfinite(v) for v in metrics.values())


@fuzz_settings()
@given(data=st.data())
def test_fuzzed_refer_files(refcoco_root, refer_documents, data):
    refs, instances = refer_documents
    which = data.draw(st.sampled_from(["refs", "instances"]))
    bad, changes = data.draw(mutated_json(refs if which == "refs" else instances))
    with tempfile.TemporaryDirectory() as folder:
        root = refer_copy(refcoco_root, Path(folder), **{which: bad})
        outcomes = {}
        for policy in ("raise", "skip"):
            errors = ErrorPolicy(policy)
            try:
                outcomes[policy] = (len(load_referring(root, "refcoco", splits=["val"], errors=errors).expressions),
                                    errors.count)
            except DataError as err:
                assert_names_a_file(err, root)
                outcomes[policy] = None
        event(f"{which}: raise {'error' if outcomes['raise'] is None else 'read'}, skip "
              f"{'error' if outcomes['skip'] is None else 'read' if not outcomes['skip'][1] else 'read with skips'}")
        if outcomes["raise"] is not None:
            assert outcomes["skip"] == (outcomes["raise"][0], 0), changes
        if outcomes["skip"] is not None:
            _exercise(_referring(root, "skip"), root, Path(folder) / "out")


SEGMENTATIONS = st.one_of(
    st.sampled_from(WEIRD_VALUES),
    st.lists(st.lists(st.one_of(st.floats(-100, 200), st.integers(-100, 200), st.sampled_from(WEIRD_VALUES)),
                      max_size=10), max_size=3),
    st.fixed_dictionaries({"size": st.lists(st.integers(-1, 40), max_size=3),
                           "counts": st.one_of(st.text(max_size=12), st.lists(st.integers(-5, 900), max_size=6))}),
)


@fuzz_settings(max_examples=int(fuzz_settings().max_examples) * 4)
@given(segmentation=SEGMENTATIONS, height=st.integers(1, 30), width=st.integers(1, 30))
def test_fuzzed_segmentations_decode_or_say_why(segmentation, height, width):
    try:
        mask = segmentation_mask(segmentation, height, width)
    except ValueError as err:
        event("refused")
        assert "'segmentation'" in str(err)
    else:
        event("decoded")
        assert mask.shape == (height, width) and mask.dtype == bool


def test_valid_rle_round_trips():
    mask = np.zeros((20, 30), bool)
    mask[3:9, 4:20] = True
    assert np.array_equal(segmentation_mask(rle_from_mask(mask), 20, 30), mask)


# ------------------------------------------------------------------------------------------------------ label maps
def stuff_copy(source: Path, folder: Path) -> Path:
    shutil.copytree(source, folder, dirs_exist_ok=True)
    return folder


def _labels(root: Path) -> list[Path]:
    return sorted((root / "annotations" / "val2017").glob("*.png"))


def _semantic(root: Path, policy: str) -> SemanticSegmentationTask:
    return SemanticSegmentationTask(SemanticConfig(data_dir=str(root), synthetic=False, write_masks=False),
                                    TaskContext(resolution=32, data_dir=root, seed=0, errors=ErrorPolicy(policy)))


LABEL_CASES = [
    ("RGB label map", lambda p: Image.new("RGB", Image.open(p).size).save(p), "has mode RGB"),
    ("label map of another size", lambda p: Image.new("L", (17, 9)).save(p), "but its label map"),
    ("label map not an image", lambda p: p.write_bytes(b"GIF89a"), "cannot read image"),
    ("label map cut short", lambda p: p.write_bytes(p.read_bytes()[:60]), "cannot read image"),
    ("image missing", lambda p: next(p.parents[2].glob(f"images/val2017/{p.stem}.*")).unlink(), "no image"),
]


@pytest.mark.parametrize("case, damage, fragment", LABEL_CASES, ids=[c[0] for c in LABEL_CASES])
def test_hand_made_bad_label_maps(cocostuff_root, tmp_path, case, damage, fragment):
    root = stuff_copy(cocostuff_root, tmp_path)
    damage(_labels(root)[0])
    with pytest.raises(DataError, match=fragment) as info:
        _semantic(root, "raise").test_requests()
    assert_names_a_file(info.value, root)
    task = _semantic(root, "skip")
    _exercise(task, root, tmp_path / "out")
    assert task.context.errors.count == 1 and fragment in task.context.errors.skipped[0]


@pytest.mark.parametrize("text, fragment", [("0: unlabeled\nsky", "expected '<id>: <name>'"),
                                            ("", "no labels"), ("999: sky", "above 255"), (b"\xff\xfe", "UTF-8")])
def test_bad_labels_txt(cocostuff_root, tmp_path, text, fragment):
    root = stuff_copy(cocostuff_root, tmp_path)
    (root / "labels.txt").write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(DataError, match=fragment) as info:
        read_labels_txt(root / "labels.txt")
    assert_names_a_file(info.value, root)


def test_an_empty_split_is_refused(cocostuff_root, tmp_path):
    root = stuff_copy(cocostuff_root, tmp_path)
    for path in _labels(root):
        path.unlink()
    with pytest.raises(DataError, match="no .png label maps"):
        load_label_maps(root, "cocostuff", "val2017")


@fuzz_settings()
@given(data=st.data())
def test_fuzzed_label_maps_and_images(cocostuff_root, data):
    with tempfile.TemporaryDirectory() as folder:
        root = stuff_copy(cocostuff_root, Path(folder))
        label = data.draw(st.sampled_from(_labels(root)))
        target = label if data.draw(st.booleans()) else next(root.glob(f"images/val2017/{label.stem}.*"))
        bad, how = data.draw(damaged_bytes(target.read_bytes()))
        target.write_bytes(bad)
        dataset = load_label_maps(root, "cocostuff", "val2017")
        item = next(i for i in dataset.items if i.label_path == label)
        try:
            image, labels = dataset.load_pair(item)
            event(f"{target.suffix} still readable ({how.split()[0]})")
            assert image.shape[:2] == labels.shape
        except DataError as err:
            event(f"{target.suffix} DataError ({how.split()[0]})")
            assert_names_a_file(err, root)
            task = _semantic(root, "skip")
            _exercise(task, root, Path(folder) / "out")
            assert task.context.errors.count >= 1
