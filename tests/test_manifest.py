"""The JSONL editing-pair manifest: round trip, extra keys kept, bad lines named or skipped."""

from __future__ import annotations

import json

import pytest

from idiff.data.error_policy import ErrorPolicy
from idiff.data.manifest import ManifestRecord, read_manifest, write_manifest
from idiff.errors import DataError


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_round_trip_keeps_extra_keys_and_relative_paths(tmp_path):
    manifest = _write(
        tmp_path / "pairs.jsonl",
        [
            "# my pairs",
            json.dumps({"source": "a/0_0.png", "target": "a/0_1.png", "instruction": " make it snow ", "id": 7}),
            "",
            json.dumps({"source": "b.png", "target": "c.png", "instruction": "remove the cat"}),
        ],
    )
    records = read_manifest(manifest)
    assert [r.line for r in records] == [2, 4]
    assert records[0].source == tmp_path / "a" / "0_0.png"
    assert records[0].instruction == "make it snow"
    assert records[0].extra == {"id": 7}
    written = write_manifest(tmp_path / "filtered.jsonl", records)
    lines = [json.loads(line) for line in written.read_text().splitlines()]
    assert lines[0] == {"source": "a/0_0.png", "target": "a/0_1.png", "instruction": "make it snow", "id": 7}
    assert [r.source for r in read_manifest(written)] == [r.source for r in records]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "pairs.jsonl:1: not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"source": "a.png", "target": "b.png"}', "missing key 'instruction'"),
        ('{"source": "a.png", "target": "", "instruction": "x"}', "'target' is ''"),
        ('{"source": "../a.png", "target": "b.png", "instruction": "x"}', "escapes the dataset root"),
        ('{"source": 3, "target": "b.png", "instruction": "x"}', "'source' is 3"),
    ],
)
def test_bad_line_names_file_line_and_key(tmp_path, line, message):
    manifest = _write(tmp_path / "pairs.jsonl", [line])
    with pytest.raises(DataError, match=message.replace("[", r"\[")) as err:
        read_manifest(manifest)
    assert "pairs.jsonl:1" in str(err.value)


def test_skip_policy_counts_bad_lines(tmp_path):
    good = json.dumps({"source": "a.png", "target": "b.png", "instruction": "x"})
    manifest = _write(tmp_path / "pairs.jsonl", [good, "{oops", good])
    policy = ErrorPolicy("skip", "editing")
    assert len(read_manifest(manifest, policy)) == 2
    assert policy.count == 1 and "pairs.jsonl:2" in policy.skipped[0]


def test_missing_manifest_and_outside_image(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_manifest(tmp_path / "nope.jsonl")
    outside = ManifestRecord(tmp_path.parent / "x.png", tmp_path / "y.png", "edit")
    with pytest.raises(DataError, match="outside"):
        write_manifest(tmp_path / "m.jsonl", [outside])
    assert not (tmp_path / "m.jsonl").exists()
