"""Outputs are written whole or not at all."""

from __future__ import annotations

import json

import pytest

from idiff.files import atomic_folder, atomic_write_bytes, atomic_write_json


def test_atomic_write_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = atomic_write_json(tmp_path / "out" / "metrics.json", {"AP": 0.5})
    assert json.loads(path.read_text()) == {"AP": 0.5}
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]
    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    assert path.stat().st_mode == plain.stat().st_mode  # the umask's mode, not the temporary file's 0600


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = atomic_write_bytes(tmp_path / "a.bin", b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_a_failed_folder_write_keeps_the_old_folder(tmp_path):
    folder = tmp_path / "pipeline"
    with atomic_folder(folder) as tmp:
        (tmp / "model_index.json").write_text("old")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert folder.stat().st_mode == plain.stat().st_mode  # the umask's mode, not the temporary folder's 0700
    plain.rmdir()
    with pytest.raises(RuntimeError, match="interrupted"), atomic_folder(folder) as tmp:
        (tmp / "model_index.json").write_text("new, half written")
        raise RuntimeError("interrupted")
    assert (folder / "model_index.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["pipeline"]
