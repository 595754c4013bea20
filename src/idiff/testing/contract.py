"""Checks of the plugin contract that every task plugin's tests share (docs/adding-a-task.md, section 8)."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["PUBLIC_API", "assert_entry_points", "assert_imports_without_lightning", "assert_public_imports"]

FORBIDDEN = ("lightning", "pytorch_lightning")
#: The modules of idiff a plugin may import (docs/adding-a-task.md, "The public API").
PUBLIC_API = frozenset({"idiff.tasks.api", "idiff.errors", "idiff.files", "idiff.quality.clip_scores",
                        "idiff.quality.aesthetic"})


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


def assert_public_imports(package: str, allowed: Iterable[str] = PUBLIC_API) -> None:
    """Every ``idiff`` module that the ``.py`` files of ``package`` import (at any depth of the code) is ``allowed``."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin, f"package {package} is not installed"
    used = set()
    for source in Path(spec.origin).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                used.add(node.module)
            elif isinstance(node, ast.Import):
                used.update(alias.name for alias in node.names)
    private = sorted(m for m in used if m.split(".")[0] == "idiff" and m not in set(allowed))
    assert not private, f"{package} imports idiff modules outside the public plugin API: {', '.join(private)}"
