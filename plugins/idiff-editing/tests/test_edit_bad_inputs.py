"""Fuzzed annotation files of InstructPix2Pix and MagicBrush: a result or a one-line DataError naming the file.

Under ``skip`` a bad record is counted and the rest kept; ``skip`` never loses a pair that ``raise`` accepts.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from idiff.tasks.api import DataError, ErrorPolicy
from idiff.testing.fuzz import damaged_bytes, fuzz_settings, mutated_json

from idiff_editing.ip2p import read_ip2p
from idiff_editing.magicbrush import read_magicbrush

ALL = (1.0, 0.0, 0.0)


def _outcomes(read: Callable[[ErrorPolicy], list], root: Path) -> None:
    """Read under raise and skip; each ends in pairs (whose images load or fail naming a file) or a DataError."""
    kept: dict[str, int] = {}
    for policy in ("raise", "skip"):
        try:
            pairs = read(ErrorPolicy(policy))
        except DataError as err:
            assert str(root) in str(err) and "\n" not in str(err), str(err)
            continue
        kept[policy] = len(pairs)
        for pair in pairs:
            try:
                pair.load()
            except DataError as err:
                assert str(root) in str(err) and "\n" not in str(err), str(err)
    if "raise" in kept:
        assert kept.get("skip", 0) >= kept["raise"]


@pytest.fixture(scope="module")
def ip2p_files(tmp_path_factory: pytest.TempPathFactory, ip2p_layout) -> Path:
    root = tmp_path_factory.mktemp("ip2p")
    ip2p_layout(root, 3)
    return root


@pytest.fixture(scope="module")
def magicbrush_files(tmp_path_factory: pytest.TempPathFactory, magicbrush_layout) -> Path:
    split = tmp_path_factory.mktemp("magicbrush") / "dev"
    magicbrush_layout(split)
    return split


def _copy_with(source: Path, name: str, data: bytes, into: Path) -> Path:
    shutil.copytree(source, into, dirs_exist_ok=True)
    (into / name).write_bytes(data)
    return into


@fuzz_settings()
@given(data=st.data())
def test_fuzzed_seeds_and_prompts(ip2p_files: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["seeds.json", "shard-00/0000001/prompt.json"]))
    document: Any = json.loads((ip2p_files / name).read_text())
    if data.draw(st.booleans()):
        bad = json.dumps(data.draw(mutated_json(document))[0]).encode()
    else:
        bad = data.draw(damaged_bytes((ip2p_files / name).read_bytes()))[0]
    with tempfile.TemporaryDirectory() as folder:
        root = _copy_with(ip2p_files, name, bad, Path(folder) / "ip2p")
        _outcomes(lambda policy: read_ip2p(root, "train", ALL, policy), root)


@fuzz_settings()
@given(data=st.data())
def test_fuzzed_edit_sessions(magicbrush_files: Path, data: st.DataObject) -> None:
    document = json.loads((magicbrush_files / "edit_sessions.json").read_text())
    bad = json.dumps(data.draw(mutated_json(document))[0]).encode()
    with tempfile.TemporaryDirectory() as folder:
        split = _copy_with(magicbrush_files, "edit_sessions.json", bad, Path(folder) / "dev")
        _outcomes(lambda policy: read_magicbrush(split, policy), split)
