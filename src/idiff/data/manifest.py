"""The generic editing-pair manifest: one JSON object per line, ``{"source", "target", "instruction"}``.

Anyone can train on their own pairs by writing such a file (JSON Lines). ``source`` and ``target`` are image
paths relative to the manifest's folder (they may not climb out of it, see :func:`idiff.data.dataset_paths.
dataset_file`); ``instruction`` is the edit in words. Other keys are kept in :attr:`ManifestRecord.extra` and
written back unchanged, so tools such as ``idiff data filter`` can add scores to a record without losing what the
user stored there. Blank lines and lines starting with ``#`` are skipped::

    {"source": "pairs/0001_0.jpg", "target": "pairs/0001_1.jpg", "instruction": "make it snow"}

Reading is strict by default (the first bad line raises a :class:`DataError` naming the file, line and key); with an
:class:`~idiff.data.error_policy.ErrorPolicy` set to ``skip`` bad lines are counted and passed over instead.
Writing is atomic (:func:`idiff.files.atomic_write`): a manifest is there whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idiff.data.dataset_paths import dataset_file
from idiff.data.error_policy import ErrorPolicy
from idiff.errors import DataError
from idiff.files import atomic_write

__all__ = ["REQUIRED_KEYS", "ManifestRecord", "read_manifest", "write_manifest"]

#: The keys every manifest line must have, each a non-empty string.
REQUIRED_KEYS = ("source", "target", "instruction")


@dataclass(frozen=True)
class ManifestRecord:
    """One editing pair of a manifest.

    Attributes:
        source: the image before the edit (absolute, resolved against the manifest's folder).
        target: the image after the edit.
        instruction: the edit in words.
        extra: every other key of the line, kept as read.
        line: the 1-based line number in the manifest it came from (0 for records made in code).
    """

    source: Path
    target: Path
    instruction: str
    extra: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    def to_json(self, root: str | Path) -> dict[str, Any]:
        """The line's object, with image paths relative to ``root`` (the folder of the manifest written)."""
        root = Path(root).resolve()
        paths = {key: _relative(getattr(self, key), root) for key in ("source", "target")}
        return {**paths, "instruction": self.instruction, **self.extra}


def _relative(path: Path, root: Path) -> str:
    path = path.resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError as err:
        raise DataError(f"image {path} is outside {root}: a manifest's images must lie under its folder") from err


def _parse(line: str, number: int, path: Path) -> ManifestRecord:
    where = f"{path}:{number}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(obj, dict):
        keys = ", ".join(REQUIRED_KEYS)
        raise DataError(f"{where}: expected a JSON object with keys {keys}, got {type(obj).__name__}")
    for key in REQUIRED_KEYS:
        if key not in obj:
            raise DataError(f"{where}: missing key '{key}' (every line needs {', '.join(REQUIRED_KEYS)})")
        if not isinstance(obj[key], str) or not obj[key].strip():
            raise DataError(f"{where}: '{key}' is {obj[key]!r}, expected a non-empty string")
    root = path.parent
    source = dataset_file(root, obj["source"], f"{where} 'source'")
    target = dataset_file(root, obj["target"], f"{where} 'target'")
    extra = {key: value for key, value in obj.items() if key not in REQUIRED_KEYS}
    return ManifestRecord(source, target, obj["instruction"].strip(), extra, number)


def read_manifest(path: str | Path, errors: ErrorPolicy | None = None) -> list[ManifestRecord]:
    """The records of a JSONL manifest, in file order.

    Args:
        path: the manifest file.
        errors: what to do with a bad line (default: raise). Images are not opened here; readers check them when
            they load each pair.

    Raises:
        DataError: the file is missing or unreadable, or a line is bad and ``errors`` says raise.
    """
    path = Path(path)
    policy = errors or ErrorPolicy()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        keys = ", ".join(REQUIRED_KEYS)
        raise DataError(f"manifest {path} does not exist (a JSONL file with {keys} per line)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"manifest {path} cannot be read as UTF-8 text: {err}") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        with policy.guard():
            records.append(_parse(line, number, path))
    return records


def write_manifest(path: str | Path, records: Iterable[ManifestRecord]) -> Path:
    """Write ``records`` as a JSONL manifest at ``path``, atomically; image paths relative to its folder."""
    path = Path(path)
    root = path.parent
    lines = [json.dumps(record.to_json(root), ensure_ascii=False) + "\n" for record in records]
    return atomic_write(path, lambda f: f.write("".join(lines).encode("utf-8")))
