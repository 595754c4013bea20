"""Outputs are written whole or not at all."""

from __future__ import annotations

import json

import pytest

from idiff.files import atomic_write_bytes, atomic_write_json


def test_atomic_write_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = atomic_write_json(tmp_path / "out" / "metrics.json", {"AP": 0.5})
    assert json.loads(path.read_text()) == {"AP": 0.5}
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = atomic_write_bytes(tmp_path / "a.bin", b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]
