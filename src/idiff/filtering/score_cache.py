"""The data filter's resumable score cache: one JSON line per scored image, appended and fsynced per batch.

An interrupted ``idiff data filter`` loses at most the batch it was scoring: the next run reads the cache, skips the
images already scored and goes on. A line is valid for an image only while the image file is unchanged (same size
and modification time) and the scoring settings (backbone, weights, reference, k ...) are the same, so changing any
of them rescores instead of mixing scores. A torn last line (killed mid-write) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["ScoreCache", "file_key", "fingerprint"]


def fingerprint(settings: dict[str, Any]) -> str:
    """A short stable hash of the scoring settings."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_key(path: Path) -> str:
    """``<resolved path>|<size>|<mtime_ns>``: changes when the file does."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class ScoreCache:
    """Scores of images under one settings fingerprint, persisted in a JSONL file.

    Args:
        path: the cache file (created on the first :meth:`add`).
        settings: what the scores depend on; lines written under other settings are ignored.
    """

    def __init__(self, path: str | Path, settings: dict[str, Any]) -> None:
        self.path = Path(path)
        self.settings = fingerprint(settings)
        self.scores: dict[str, dict[str, float | None]] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn line from an interrupted run
                if isinstance(entry, dict) and entry.get("settings") == self.settings and "key" in entry:
                    self.scores[entry["key"]] = entry.get("scores", {})

    def get(self, key: str) -> dict[str, float | None] | None:
        """The scores stored for ``key`` (see :func:`file_key`), or None."""
        return self.scores.get(key)

    def add(self, entries: dict[str, dict[str, float | None]]) -> None:
        """Store scores of several images and make them durable (append, flush, fsync)."""
        if not entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(
            json.dumps({"settings": self.settings, "key": k, "scores": v}) + "\n" for k, v in entries.items()
        )
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell():  # after a torn line, start on a fresh one
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    lines = "\n" + lines
            handle.write(lines.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        self.scores.update(entries)
