"""Append-only JSON Lines files that survive a crash: the picks of human alignment, the data filter's score cache.

Each append is one ``write`` to a file opened with ``O_APPEND``, then fsync, so a crash loses at most the lines being
written and never an earlier one. A crash can leave a torn last line (the file does not end with a newline): readers
skip it, and the next append cuts it off first, because it was never a record. Any other bad line is an error
naming the file and the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from idiff.errors import DataError

__all__ = ["append_jsonl", "read_jsonl"]


def append_jsonl(path: str | Path, objects: Iterable[dict[str, Any]]) -> None:
    """Append ``objects``, one compact JSON line each, durably (see the module docstring)."""
    data = "".join(json.dumps(obj, separators=(",", ":")) + "\n" for obj in objects).encode()
    if not data:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.ftruncate(fd, os.pread(fd, size, 0).rfind(b"\n") + 1)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of each record; a torn last line is skipped, other bad lines raise DataError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err})") from None
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            if number == len(lines):  # the last line has no newline: a write cut short
                return
            raise DataError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        if not isinstance(value, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
        yield number, value
