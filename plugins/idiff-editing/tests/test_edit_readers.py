"""Readers on fixtures in the real layouts (written by conftest.py): InstructPix2Pix, MagicBrush, JSONL manifests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from idiff.tasks.api import DataError, ErrorPolicy

from idiff_editing.ip2p import read_ip2p
from idiff_editing.magicbrush import read_magicbrush
from idiff_editing.manifest_pairs import read_manifest_pairs


def test_ip2p_splits_follow_edit_dataset_py(tmp_path: Path, ip2p_layout) -> None:
    ip2p_layout(tmp_path, 20)
    sizes = {split: len(read_ip2p(tmp_path, split)) for split in ("train", "val", "test")}
    n = 20  # edit_dataset.py: seeds[floor(a * n):floor(b * n)] for the split's cumulative fractions
    assert sizes == {"train": math.floor(0.9 * n), "val": math.floor(0.95 * n) - math.floor(0.9 * n),
                     "test": n - math.floor(0.95 * n)}
    first = read_ip2p(tmp_path, "test")[0]
    assert first.name == "shard-00/0000019" and first.instruction == "make it 19"
    assert (first.input_caption, first.output_caption) == ("photo 19", "photo 19 edited")
    assert [v[0].name for v in first.variants] == ["1019_0.jpg", "2019_0.jpg"]
    source, target = first.load(1)
    assert abs(int(source[8, 12, 0]) - 125) <= 3 and abs(int(target[8, 12, 0]) - 225) <= 3  # the second seed, JPEG


def test_ip2p_caption_key_and_errors_name_the_file(tmp_path: Path, ip2p_layout) -> None:
    ip2p_layout(tmp_path, 4)
    prompt = tmp_path / "shard-00/0000001/prompt.json"
    prompt.write_text(json.dumps({"caption": "old style", "edit": "x", "output": "y"}))
    assert read_ip2p(tmp_path, "train", (1.0, 0.0, 0.0))[1].input_caption == "old style"
    prompt.write_text(json.dumps({"input": "a", "output": "b"}))
    with pytest.raises(DataError, match=rf"{prompt}: 'edit' is ''"):
        read_ip2p(tmp_path, "train", (1.0, 0.0, 0.0))
    skipping = ErrorPolicy("skip")
    assert len(read_ip2p(tmp_path, "train", (1.0, 0.0, 0.0), skipping)) == 3 and skipping.count == 1
    (tmp_path / "seeds.json").write_text(json.dumps([["../outside", ["1"]]]))
    with pytest.raises(DataError, match="seeds.json: entry 0 folder"):
        read_ip2p(tmp_path, "train", (1.0, 0.0, 0.0))
    (tmp_path / "seeds.json").unlink()
    with pytest.raises(DataError, match=rf"{tmp_path / 'seeds.json'}: seeds.json not found"):
        read_ip2p(tmp_path)


def test_a_truncated_image_names_the_file(tmp_path: Path, ip2p_layout, image_file) -> None:
    ip2p_layout(tmp_path, 2)
    pair = read_ip2p(tmp_path, "train", (1.0, 0.0, 0.0))[0]
    target = pair.variants[0][1]
    target.write_bytes(target.read_bytes()[:40])
    with pytest.raises(DataError, match=str(target)):
        pair.load()
    image_file(target, 0, size=(10, 10))
    with pytest.raises(DataError, match=rf"{pair.variants[0][0]}: 24x16 but its edited image {target} is 10x10"):
        pair.load()


def test_magicbrush_turns_are_pairs(tmp_path: Path, magicbrush_layout) -> None:
    magicbrush_layout(tmp_path / "dev")
    pairs = read_magicbrush(tmp_path / "dev")
    assert [p.name for p in pairs] == ["327726/1", "327726/2", "242679/1"]
    assert pairs[1].instruction == "edit 2 of 327726" and pairs[1].variants[0][0].name == "327726-output1.png"
    source, target = pairs[1].load()
    assert source[5, 5, 0] == 50 and target[5, 5, 0] == 100


def test_magicbrush_bad_turns_name_the_session(tmp_path: Path, magicbrush_layout) -> None:
    split = tmp_path / "train"
    magicbrush_layout(split)
    sessions = json.loads((split / "edit_sessions.json").read_text())
    del sessions["327726"][1]["instruction"]
    (split / "edit_sessions.json").write_text(json.dumps(sessions))
    with pytest.raises(DataError, match=r"edit_sessions.json: session '327726' turn 2: 'instruction' is None"):
        read_magicbrush(split)
    skipping = ErrorPolicy("skip")
    assert [p.name for p in read_magicbrush(split, skipping)] == ["327726/1", "242679/1"] and skipping.count == 1
    with pytest.raises(DataError, match="edit_sessions.json: not found"):
        read_magicbrush(tmp_path / "test")


def test_manifest_pairs_with_captions_and_a_bad_line(tmp_path: Path, image_file) -> None:
    image_file(tmp_path / "pairs/a_0.png", 10)
    image_file(tmp_path / "pairs/a_1.png", 20)
    lines = [
        {"source": "pairs/a_0.png", "target": "pairs/a_1.png", "instruction": "brighten it",
         "input_caption": "a dark square", "output_caption": "a bright square", "score": 0.5},
        {"source": "pairs/a_0.png", "target": "pairs/a_1.png", "instruction": "again"},
    ]
    manifest = tmp_path / "pairs.jsonl"
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + '\n{"source": "pairs/a_0.png"}\n')
    with pytest.raises(DataError, match=rf"{manifest}:3: missing key 'target'"):
        read_manifest_pairs(manifest)
    skipping = ErrorPolicy("skip")
    pairs = read_manifest_pairs(manifest, skipping)
    assert skipping.count == 1 and [p.name for p in pairs] == ["pairs.jsonl:1", "pairs.jsonl:2"]
    assert (pairs[0].input_caption, pairs[0].output_caption) == ("a dark square", "a bright square")
    assert pairs[1].output_caption == "" and pairs[0].load()[1][5, 5, 0] == 20
