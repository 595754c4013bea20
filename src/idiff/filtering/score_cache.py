"""The data filter's resumable score cache: one JSON line per scored image, appended and fsynced per batch.

An interrupted ``idiff data filter`` loses at most the batch it was scoring: the next run reads the cache, skips the
images already scored and goes on. A line is valid for an image only while the image file is unchanged (same size
and modification time) and the scoring settings (backbone, weights, reference, k ...) are the same, so changing any
of them rescores instead of mixing scores. A torn last line (killed mid-write) is ignored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from idiff.jsonl import append_jsonl, read_jsonl

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
            for _, entry in read_jsonl(self.path):  # a torn last line (killed mid-write) is skipped
                if entry.get("settings") == self.settings and "key" in entry:
                    self.scores[entry["key"]] = entry.get("scores", {})

    def get(self, key: str) -> dict[str, float | None] | None:
        """The scores stored for ``key`` (see :func:`file_key`), or None."""
        return self.scores.get(key)

    def add(self, entries: dict[str, dict[str, float | None]]) -> None:
        """Store scores of several images and make them durable (:func:`idiff.jsonl.append_jsonl`)."""
        append_jsonl(self.path, ({"settings": self.settings, "key": k, "scores": v} for k, v in entries.items()))
        self.scores.update(entries)
