"""Outputs are written whole or not at all: write to a temporary name in the same folder, then rename.

A crash (even SIGKILL) leaves either the old file or the new one under the real name, never a part of one; what it
can leave is a temporary ``.<name>.<random>.tmp`` beside it, which nothing reads and which is safe to delete.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image

__all__ = [
    "atomic_folder",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_png",
    "is_temporary",
]


def _umask_mode(mode: int) -> int:
    """``mode`` less the process umask: what ``open`` / ``mkdir`` would give (mkstemp / mkdtemp give 0600 / 0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``.

    Streams (no copy of the whole content in memory), so it suits large checkpoints too.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _umask_mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def is_temporary(path: str | Path) -> bool:
    """Whether ``path`` is a temporary file of :func:`atomic_write` (left behind by a crash)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(".tmp")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (``os.replace`` of a fsynced temporary file)."""
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def atomic_write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write a uint8 (H, W, 3) or (H, W) image as PNG, atomically."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; when the block succeeds it replaces ``path`` whole.

    An existing ``path`` is moved aside, the new folder renamed into place, then the old one deleted. If the block
    or the rename fails, ``path`` is left as it was and the temporary folder is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, _umask_mode(0o777))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    aside = tmp.with_name(tmp.name + ".old") if path.exists() else None
    if aside is not None:
        os.replace(path, aside)
    try:
        os.replace(tmp, path)
    except BaseException:
        if aside is not None:
            os.replace(aside, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if aside is not None:
        shutil.rmtree(aside) if aside.is_dir() else aside.unlink()
