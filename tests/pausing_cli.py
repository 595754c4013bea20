"""``python pausing_cli.py POINT N MARKER ARGS...``: run ``idiff ARGS``, pausing at one point for a test to kill it.

Used by ``test_kill_resume.py``. At the chosen point the process writes the file MARKER and sleeps; the test then
sends it SIGKILL. The pause only widens the window: the process is killed for real, mid-operation.

POINT:
  step              after the backward pass of the optimizer step with ``global_step == N`` (gradients computed,
                    weights not yet updated);
  checkpoint-write  half-way through writing the checkpoint of ``global_step == N`` (half of its bytes on disk);
  generate          in ``test_step`` of batch N (part of the test requests generated, nothing scored yet);
  metrics-write     half-way through writing ``metrics.json``.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

import idiff.checkpoint_io
import idiff.files
from idiff.cli import main
from idiff.module import DiffusionModule


def pause(marker: Path) -> None:
    marker.write_text(str(os.getpid()))
    time.sleep(600)


def half_then_pause(write: Callable[[IO[bytes]], Any], marker: Path) -> Callable[[IO[bytes]], None]:
    """An ``atomic_write`` writer that writes half of what ``write`` would, then pauses."""

    def writer(handle: IO[bytes]) -> None:
        buffer = io.BytesIO()
        write(buffer)
        data = buffer.getvalue()
        handle.write(data[: len(data) // 2])
        handle.flush()
        os.fsync(handle.fileno())
        pause(marker)

    return writer


def install(point: str, n: int, marker: Path) -> None:
    if point == "step":
        original = DiffusionModule.on_after_backward

        def on_after_backward(self: DiffusionModule) -> None:
            if self.global_step == n:
                pause(marker)
            original(self)

        DiffusionModule.on_after_backward = on_after_backward
    elif point == "checkpoint-write":
        original_save = idiff.checkpoint_io.AtomicCheckpointIO.save_checkpoint

        def save_checkpoint(self: Any, checkpoint: dict, path: Any, storage_options: Any = None) -> Any:
            if checkpoint.get("global_step") != n:
                return original_save(self, checkpoint, path, storage_options)
            return idiff.files.atomic_write(path, half_then_pause(lambda h: torch.save(checkpoint, h), marker))

        idiff.checkpoint_io.AtomicCheckpointIO.save_checkpoint = save_checkpoint
    elif point == "generate":
        original_test_step = DiffusionModule.test_step

        def test_step(self: DiffusionModule, batch: Any, batch_idx: int) -> Any:
            if batch_idx == n:
                pause(marker)
            return original_test_step(self, batch, batch_idx)

        DiffusionModule.test_step = test_step
    elif point == "metrics-write":
        original_write = idiff.files.atomic_write

        def atomic_write(path: Any, write: Callable[[IO[bytes]], Any]) -> Path:
            if Path(path).name == "metrics.json":
                write = half_then_pause(write, marker)
            return original_write(path, write)

        idiff.files.atomic_write = atomic_write
    elif point != "none":
        raise SystemExit(f"unknown pause point {point!r}")


if __name__ == "__main__":
    install(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
    main(sys.argv[4:])
