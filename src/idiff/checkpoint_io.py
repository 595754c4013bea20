"""Lightning checkpoints written atomically, and how to tell a complete checkpoint file from a torn one.

Lightning's own ``TorchCheckpointIO`` writes through an fsspec transaction whose temporary file lives in the system
temporary folder and is *moved* into place: across file systems that move is a copy under the real name, so a
kill during it leaves a half ``last.ckpt`` that ``resume=auto`` would pick up. :class:`AtomicCheckpointIO` writes
the temporary file beside the checkpoint, fsyncs it and renames it (:func:`idiff.files.atomic_write`).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from idiff.errors import TrainingError
from idiff.files import atomic_write

__all__ = ["AtomicCheckpointIO", "is_complete_checkpoint"]


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` into a temporary file in the checkpoint's folder, fsync, then rename to the real name."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        try:
            atomic_write(path, lambda handle: torch.save(checkpoint, handle))
        except OSError as err:  # e.g. the disk filled up during training
            raise TrainingError(
                f"{path}: checkpoint not written ({err.strerror or err}); the previous checkpoint is intact"
            ) from err


def is_complete_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a whole ``torch.save`` archive (its zip directory, written last, is readable).

    A file cut short by a crash lacks the zip central directory at its end and fails this check.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return bool(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
