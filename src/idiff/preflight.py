"""Checks made before a run starts, so that what cannot work fails in seconds with one line, not hours in.

- the output folder (``paths.runs_dir``) must be writable: a probe file is written and removed;
- it must have room for the checkpoints: the model's weights, optimizer state and EMA, twice (an atomic rewrite of
  ``last.ckpt`` holds the old and the new file at once);
- ``model.resolution`` must be divisible by the codec's factor times the UNet's downsampling.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from idiff.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["check_free_space", "check_resolution", "check_writable", "checkpoint_bytes"]


def check_writable(directory: str | Path, key: str = "paths.runs_dir") -> Path:
    """Create ``directory`` if needed and write a probe file in it; a :class:`ConfigError` naming ``key`` if not."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".idiff-probe-", dir=directory)
        try:
            os.write(fd, b"idiff")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        reason = "the disk is full" if err.errno == errno.ENOSPC else (err.strerror or type(err).__name__)
        raise ConfigError(f"{key}={directory}: cannot write there ({reason}); choose a writable folder") from None
    return directory


def checkpoint_bytes(module: torch.nn.Module, ema_parameters: int = 0) -> int:
    """Size estimate of a Lightning checkpoint of ``module``: its state, two optimizer moments per trained
    parameter (Adam-style) and ``ema_parameters`` EMA weights."""
    state = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    trained = sum(p.numel() * p.element_size() for p in module.parameters() if p.requires_grad)
    return state + 2 * trained + 4 * ema_parameters


def check_free_space(directory: str | Path, needed: int, key: str = "paths.runs_dir") -> None:
    """A :class:`ConfigError` when the file system of ``directory`` has fewer than ``needed`` bytes free."""
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise ConfigError(
            f"{key}={directory}: {free / 1e6:.0f} MB free, but the checkpoints need about {needed / 1e6:.0f} MB "
            "(weights, optimizer state and EMA, twice while last.ckpt is rewritten); free space or choose another "
            "folder"
        )


def check_resolution(resolution: int, factor: int) -> None:
    """A :class:`ConfigError` listing the nearest allowed values when ``resolution`` is not a multiple of ``factor``."""
    if resolution <= 0 or resolution % factor:
        lower, upper = max(factor, resolution // factor * factor), (resolution // factor + 1) * factor
        nearest = f"{lower} or {upper}" if lower != upper and resolution > factor else f"{factor}"
        raise ConfigError(
            f"model.resolution={resolution}: must be a positive multiple of {factor} (codec factor x UNet "
            f"downsampling); allowed values near it: {nearest}"
        )
