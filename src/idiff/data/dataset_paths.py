"""File names read from annotation files stay inside the dataset root.

An annotation file is data, not code, but the file names in it (COCO's ``file_name``, REFER's image names) become
paths: ``../../home/user/.ssh/id_rsa`` or ``/etc/passwd`` would make a reader open files outside the dataset.
:func:`dataset_file` refuses names that are absolute or climb above the folder they are relative to. The check is on
the name itself (lexical): symbolic links *inside* the dataset, which their owner put there, are followed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from idiff.errors import DataError

__all__ = ["dataset_file"]


def dataset_file(root: str | Path, name: Any, source: str) -> Path:
    """``root / name`` for a relative ``name`` that stays under ``root``; else a :class:`DataError`.

    Args:
        root: the folder the annotation's names are relative to.
        name: the name read from the annotation.
        source: where the name comes from, for the message, e.g. ``"<file>: image 42 'file_name'"``.
    """
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{source} is {name!r}, expected a non-empty file name")
    if "\x00" in name:
        raise DataError(f"{source} {name!r} contains a NUL character")
    normal = os.path.normpath(name)
    if os.path.isabs(normal) or normal == ".." or normal.startswith(".." + os.sep):
        raise DataError(f"{source} {name!r} escapes the dataset root {root} (absolute, or climbs with '..')")
    return Path(root) / normal
