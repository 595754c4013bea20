"""Writing a synthetic dataset folder whole or not at all.

The synthetic writers fill ``<parent>/.<name>.partial`` and rename it to ``<parent>/<name>`` when every file is in
place, so the dataset folder exists only complete: its presence is what ``prepare_data`` checks, and an interrupted
run leaves only the hidden partial folder, which the next run clears and writes again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["staged_directory"]


@contextmanager
def staged_directory(final: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``final``; on success it becomes ``final`` (which must not exist)."""
    final = Path(final)
    if final.exists():
        raise FileExistsError(f"{final}: already exists; remove it to write the synthetic dataset again")
    partial = final.parent / f".{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
        os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
