"""Editing pairs from a generic JSONL manifest: train on your own pairs.

The reader is :func:`idiff.data.manifest.read_manifest`, exported by :mod:`idiff.tasks.api`. A manifest line is
``{"source": ..., "target": ..., "instruction": ...}`` with image paths relative to the manifest's folder. Two
optional keys feed the caption-based CLIP scores: ``input_caption`` (what the source shows) and ``output_caption``
(what the target shows); other keys are ignored here. A pair is named after its line.
"""

from __future__ import annotations

from pathlib import Path

from idiff.tasks.api import ErrorPolicy, read_manifest

from idiff_editing.pairs import EditPair

__all__ = ["CAPTION_KEYS", "read_manifest_pairs"]

#: Optional manifest keys holding the captions of the source and of the target.
CAPTION_KEYS = ("input_caption", "output_caption")


def _caption(extra: dict, key: str) -> str:
    value = extra.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def read_manifest_pairs(path: str | Path, errors: ErrorPolicy | None = None) -> list[EditPair]:
    """The pairs of a JSONL manifest, in file order (see :func:`idiff.data.manifest.read_manifest` for errors)."""
    records = read_manifest(path, errors=errors)
    name = Path(path).name
    return [
        EditPair(
            f"{name}:{record.line}", ((record.source, record.target),), record.instruction,
            _caption(record.extra, "input_caption"), _caption(record.extra, "output_caption"),
        )
        for record in records
    ]
