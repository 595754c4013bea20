"""Checks of the plugin contract that every task plugin's tests share (docs/adding-a-task.md, section 8)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

__all__ = ["assert_entry_points", "assert_imports_without_lightning"]

FORBIDDEN = ("lightning", "pytorch_lightning")


def assert_imports_without_lightning(*modules: str) -> None:
    """Import ``modules`` in a fresh interpreter and fail if that loaded Lightning (plugins never import it)."""
    code = (
        f"import sys, {', '.join(modules)}; loaded = sorted({set(FORBIDDEN)!r} & set(sys.modules)); "
        "sys.exit(f'importing the plugin loaded {loaded}' if loaded else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr.strip() or result.stdout.strip()


def assert_entry_points(distribution: str, tasks: Mapping[str, str]) -> None:
    """Each ``name -> class name`` of ``tasks`` loads through the ``idiff.tasks`` entry points from ``distribution``."""
    from idiff.tasks.api import Task
    from idiff.tasks.registry import TaskRegistry

    registry = TaskRegistry()
    info = {i.name: i for i in registry.describe()}
    for name, class_name in tasks.items():
        cls = registry.load(name)
        assert cls.__name__ == class_name and issubclass(cls, Task), (name, cls)
        assert info[name].distribution == distribution and info[name].error is None, info[name]
