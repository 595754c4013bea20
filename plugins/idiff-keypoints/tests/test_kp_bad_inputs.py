"""Bad input at every reader of the keypoints task: hand-made cases and hypothesis fuzzing.

Every bad input must end in a result or a one-line DataError naming the file (and the field); under
``data.on_error=skip`` a bad record is counted instead, and a run of the whole task (train items, test requests,
COCOeval) still works on what is left.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from idiff.tasks.api import DataError, ErrorPolicy, TaskContext
from idiff.testing.fuzz import damaged_bytes, fuzz_settings, mutated_json
from PIL import Image

from idiff_keypoints.coco import load_coco_keypoints
from idiff_keypoints.config import KeypointsConfig
from idiff_keypoints.dataset import KeypointsTrainDataset
from idiff_keypoints.task import KeypointsTask, identity_baseline

SPLIT = "val2017"
ANNOTATIONS = f"annotations/person_keypoints_{SPLIT}.json"


@pytest.fixture(scope="module")
def document(synthetic_root: Path) -> dict[str, Any]:
    return json.loads((synthetic_root / ANNOTATIONS).read_text())


def dataset_with(synthetic_root: Path, folder: Path, document: Any = None, raw: bytes | None = None) -> Path:
    """A dataset root in ``folder``: the synthetic images and ``document`` (or ``raw`` bytes) as annotations."""
    shutil.copytree(synthetic_root / SPLIT, folder / SPLIT, dirs_exist_ok=True)
    path = folder / ANNOTATIONS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw if raw is not None else json.dumps(document).encode())
    return folder


def assert_names_a_file(err: DataError, root: Path) -> None:
    message = str(err)
    assert str(root) in message and "\n" not in message, message


def first(document: dict[str, Any], key: str) -> dict[str, Any]:
    return document[key][0]


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def apply(document: dict[str, Any]) -> dict[str, Any]:
        document = copy.deepcopy(document)
        change(document)
        return document

    return apply


#: (case, change, message fragment, what on_error=skip does: skip 1 annotation, skip an "image" entry with its
#: persons, or refuse the "file" as a whole)
CASES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str, int | str]] = [
    ("misspelt 'keypoints'", _edit(lambda d: first(d, "annotations").update(keypoint=first(d, "annotations").pop(
        "keypoints"))), "is missing 'keypoints'", 1),
    ("misspelt 'bbox'", _edit(lambda d: first(d, "annotations").update(box=first(d, "annotations").pop("bbox"))),
     "is missing 'bbox'", 1),
    ("50 keypoint values", _edit(lambda d: first(d, "annotations")["keypoints"].pop()), "has 50 values, expected 51",
     1),
    ("visibility 3", _edit(lambda d: first(d, "annotations")["keypoints"].__setitem__(2, 3)), "visibility flags", 1),
    ("NaN keypoint", _edit(lambda d: first(d, "annotations")["keypoints"].__setitem__(0, float("nan"))), "NaN", 1),
    ("string keypoint", _edit(lambda d: first(d, "annotations")["keypoints"].__setitem__(0, "3")), "not numbers", 1),
    ("negative box", _edit(lambda d: first(d, "annotations")["bbox"].__setitem__(2, -5)), "negative width", 1),
    ("empty box", _edit(lambda d: first(d, "annotations")["bbox"].__setitem__(3, 0)), "is empty", 1),
    ("box outside the image", _edit(lambda d: first(d, "annotations")["bbox"].__setitem__(0, 5000)),
     "lies outside its image", 1),
    ("3-value box", _edit(lambda d: first(d, "annotations")["bbox"].pop()), "'bbox' has 3 values", 1),
    ("iscrowd null (found by the fuzzer: COCOeval crashed on it)",
     _edit(lambda d: first(d, "annotations").update(iscrowd=None)), "'iscrowd' is None", 1),
    ("negative annotation id (it seeds the test request's colours)",
     _edit(lambda d: first(d, "annotations").update(id=-3)), "'id' is -3, expected an integer >= 0", 1),
    ("unknown image_id", _edit(lambda d: first(d, "annotations").update(image_id=987654)), "unknown image_id", 1),
    ("file_name climbing out", _edit(lambda d: first(d, "images").update(file_name="../../../etc/passwd")),
     "escapes the dataset root", "image"),
    ("absolute file_name", _edit(lambda d: first(d, "images").update(file_name="/etc/passwd")),
     "escapes the dataset root", "image"),
    ("image width 0", _edit(lambda d: first(d, "images").update(width=0)), "'width' is 0", "image"),
    ("misspelt image 'height'", _edit(lambda d: first(d, "images").update(hieght=first(d, "images").pop("height"))),
     "is missing 'height'", "image"),
    ("misspelt top-level 'annotations'", _edit(lambda d: d.update(annotation=d.pop("annotations"))),
     "missing top-level key 'annotations'", "file"),
    ("'images' not a list", _edit(lambda d: d.update(images={})), "top-level 'images' is a dict", "file"),
    ("no keypoint category", _edit(lambda d: first(d, "categories").pop("keypoints")), "no category has", "file"),
    ("joint names not a list", _edit(lambda d: first(d, "categories").update(keypoints="nose")), "joint names",
     "file"),
    ("empty dataset", _edit(lambda d: d.update(annotations=[])), "nothing usable", "file"),
    ("every annotation broken", _edit(lambda d: [a.pop("bbox") for a in d["annotations"]]), "is missing 'bbox'",
     "file"),
]


@pytest.mark.parametrize("case, change, fragment, skipped", CASES, ids=[c[0] for c in CASES])
def test_hand_made_bad_annotations(synthetic_root, document, tmp_path, case, change, fragment, skipped):
    root = dataset_with(synthetic_root, tmp_path, change(document))
    with pytest.raises(DataError, match=fragment) as info:
        load_coco_keypoints(root, SPLIT)
    assert_names_a_file(info.value, root)
    policy = ErrorPolicy("skip")
    if skipped == "file":
        with pytest.raises(DataError) as info:
            load_coco_keypoints(root, SPLIT, errors=policy)
        assert_names_a_file(info.value, root)
        return
    data = load_coco_keypoints(root, SPLIT, errors=policy)
    whole = load_coco_keypoints(synthetic_root, SPLIT)
    if skipped == "image":  # the entry, then each of its persons as an annotation of an unknown image
        persons = sum(1 for i in whole.instances if i.image_id == document["images"][0]["id"])
        assert policy.count == 1 + persons and len(data.instances) == len(whole.instances) - persons
        assert all("unknown image_id" in message for message in policy.skipped[1:])
    else:
        assert policy.count == skipped and len(data.instances) == len(whole.instances) - 1
    assert fragment in policy.skipped[0]


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe\x00", b"[1, 2]", b"null", b'{"images": []}'])
def test_unreadable_annotation_files(synthetic_root, tmp_path, raw):
    root = dataset_with(synthetic_root, tmp_path, raw=raw)
    for policy in ("raise", "skip"):  # a file that cannot be read at all is refused under both policies
        with pytest.raises(DataError) as info:
            load_coco_keypoints(root, SPLIT, errors=ErrorPolicy(policy))
        assert_names_a_file(info.value, root)


def _task(root: Path, policy: str) -> KeypointsTask:
    config = KeypointsConfig(data_dir=str(root), synthetic=False, train_split=SPLIT)
    return KeypointsTask(config, TaskContext(resolution=32, data_dir=root, seed=0, errors=ErrorPolicy(policy)))


def _exercise(task: KeypointsTask, root: Path, out: Path) -> None:
    """Train items, test requests and COCOeval on whatever the reader kept: results or DataErrors naming a file."""
    train = task.train_dataset()
    for index in range(min(len(train), 3)):
        try:
            sample = train[index]
        except DataError as err:
            assert_names_a_file(err, root)
        else:
            assert sample.source.shape == (32, 32, 3)
    requests = task.test_requests()
    if requests:
        metrics = identity_baseline(task, out)
        assert all(np.isfinite(v) for v in metrics.values())


@fuzz_settings()
@given(data=st.data())
def test_fuzzed_annotations(synthetic_root, document, data):
    bad, changes = data.draw(mutated_json(document))
    with tempfile.TemporaryDirectory() as folder:
        root = dataset_with(synthetic_root, Path(folder), bad)
        outcomes = {}
        for policy in ("raise", "skip"):
            errors = ErrorPolicy(policy)
            try:
                kept = load_coco_keypoints(root, SPLIT, errors=errors)
            except DataError as err:
                assert_names_a_file(err, root)
                outcomes[policy] = None
            else:
                outcomes[policy] = (len(kept.instances), errors.count)
        skip = "error" if outcomes["skip"] is None else "read, 0 skipped" if not outcomes["skip"][1] else "read, skips"
        event(f"raise: {'error' if outcomes['raise'] is None else 'read'}; skip: {skip}")
        if outcomes["raise"] is not None:  # a file good enough for raise has nothing to skip
            assert outcomes["skip"] == (outcomes["raise"][0], 0), changes
        if outcomes["skip"] is not None:
            _exercise(_task(root, "skip"), root, Path(folder) / "out")


@fuzz_settings()
@given(data=st.data())
def test_fuzzed_image_files(synthetic_root, document, data):
    image = data.draw(st.sampled_from(document["images"]))
    good = (synthetic_root / SPLIT / image["file_name"]).read_bytes()
    bad, how = data.draw(damaged_bytes(good))
    with tempfile.TemporaryDirectory() as folder:
        root = dataset_with(synthetic_root, Path(folder), document)
        (root / SPLIT / image["file_name"]).write_bytes(bad)
        persons = [i for i, p in enumerate(load_coco_keypoints(root, SPLIT).instances) if p.image_id == image["id"]]
        train = KeypointsTrainDataset(load_coco_keypoints(root, SPLIT), KeypointsConfig(), 32)
        try:
            train[persons[0]]
            event(f"still readable ({how.split()[0]})")
        except DataError as err:
            event(f"DataError ({how.split()[0]})")
            assert image["file_name"] in str(err) and "\n" not in str(err)
            with pytest.raises(DataError):
                _task(root, "raise").test_requests()
            task = _task(root, "skip")
            _exercise(task, root, Path(folder) / "out")
            assert task.context.errors.count >= 1


@pytest.mark.parametrize("size", [(100, 128), (128, 100), (64, 64)])
def test_an_image_of_another_size_than_annotated_is_refused(synthetic_root, document, tmp_path, size):
    root = dataset_with(synthetic_root, tmp_path, document)
    name = document["images"][0]["file_name"]
    Image.new("RGB", size).save(root / SPLIT / name)
    data = load_coco_keypoints(root, SPLIT)
    index = next(i for i, p in enumerate(data.instances) if p.image_path.name == name)
    with pytest.raises(DataError, match=rf"{name}: image is {size[0]} x {size[1]}, but its annotation"):
        KeypointsTrainDataset(data, KeypointsConfig(), 32)[index]
