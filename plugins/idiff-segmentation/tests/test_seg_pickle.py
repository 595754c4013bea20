"""The REFER pickle is read with a restricted unpickler: plain data loads, anything else is refused unexecuted."""

from __future__ import annotations

import collections
import json
import os
import pickle
from pathlib import Path

import pytest

from idiff_segmentation.refer import load_referring
from idiff_segmentation.safepickle import UnsafePickleError, load_plain_pickle


class _RunsACommand:
    """Unpickling this calls os.system: what a malicious refs(unc).p would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_refs_load_with_every_protocol(tmp_path: Path, protocol: int) -> None:
    refs = [{"ref_id": 0, "ann_id": 5, "sentences": [{"sent": "the dog", "sent_id": 1}], "box": (1.5, 2.0), "ok": True}]
    path = tmp_path / "refs(unc).p"
    path.write_bytes(pickle.dumps(refs, protocol=protocol))
    loaded = load_plain_pickle(path)
    assert loaded[0]["sentences"][0]["sent"] == "the dog" and tuple(loaded[0]["box"]) == (1.5, 2.0)


def test_malicious_pickle_is_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "refs(unc).p"
    path.write_bytes(pickle.dumps([{"ref_id": 0, "evil": _RunsACommand(marker)}]))
    with pytest.raises(
        UnsafePickleError, match=r"refs\(unc\)\.p: not loaded: refused to load global '(posix|os)\.system'"
    ):
        load_plain_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "obj, what",
    [(collections.OrderedDict(a=1), "global 'collections.OrderedDict'"), ([b"raw bytes"], "holds a bytes")],
)
def test_other_objects_are_refused(tmp_path: Path, obj: object, what: str) -> None:
    path = tmp_path / "refs(google).p"
    path.write_bytes(pickle.dumps(obj, protocol=4))
    with pytest.raises(UnsafePickleError, match=what):
        load_plain_pickle(path)


def test_corrupt_and_missing_pickles_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "refs(umd).p"
    path.write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(UnsafePickleError, match=r"refs\(umd\)\.p"):
        load_plain_pickle(path)
    with pytest.raises(FileNotFoundError, match="missing.p"):
        load_plain_pickle(tmp_path / "missing.p")


def test_reader_refuses_a_malicious_refs_file(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "refcoco").mkdir()
    (tmp_path / "refcoco" / "refs(unc).p").write_bytes(pickle.dumps([_RunsACommand(marker)]))
    (tmp_path / "refcoco" / "instances.json").write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(UnsafePickleError, match=r"refcoco/refs\(unc\)\.p: not loaded: refused to load global"):
        load_referring(tmp_path, "refcoco")
    assert not marker.exists()
