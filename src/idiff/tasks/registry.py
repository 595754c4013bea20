"""Task discovery through the ``idiff.tasks`` entry-point group.

Names are listed without importing plugin code; only the selected plugin is imported. A plugin that fails to
import is reported with its error and never takes the others down. Duplicate names are an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from idiff.errors import PluginError
from idiff.tasks.api import Task

__all__ = ["ENTRY_POINT_GROUP", "TaskInfo", "TaskRegistry"]

ENTRY_POINT_GROUP = "idiff.tasks"


@dataclass
class TaskInfo:
    """One installed task as ``idiff tasks`` shows it."""

    name: str
    target: str
    distribution: str
    version: str
    error: str | None = None


class TaskRegistry:
    """The installed task plugins.

    Args:
        entry_points_: entry points to use instead of the installed ones (tests inject hand-built ones).
    """

    def __init__(self, entry_points_: list[EntryPoint] | None = None) -> None:
        found = list(entry_points(group=ENTRY_POINT_GROUP)) if entry_points_ is None else list(entry_points_)
        self._entry_points: dict[str, EntryPoint] = {}
        self._duplicates: dict[str, list[str]] = {}
        for ep in found:
            if ep.name in self._entry_points and ep.value != self._entry_points[ep.name].value:
                self._duplicates.setdefault(ep.name, [self._entry_points[ep.name].value]).append(ep.value)
            self._entry_points.setdefault(ep.name, ep)

    @property
    def names(self) -> list[str]:
        return sorted(self._entry_points)

    def load(self, name: str) -> type[Task]:
        """Import and return the task class registered as ``name``."""
        if name not in self._entry_points:
            installed = ", ".join(self.names) or "none (pip install a plugin such as plugins/idiff-keypoints)"
            raise PluginError(f"unknown task {name!r}; installed tasks: {installed}")
        if name in self._duplicates:
            raise PluginError(f"task {name!r} is registered by several plugins: {', '.join(self._duplicates[name])}")
        ep = self._entry_points[name]
        try:
            cls = ep.load()
        except Exception as err:  # noqa: BLE001 - any import failure of third-party code is reported, not raised raw
            raise PluginError(f"task {name!r} ({ep.value}) failed to import: {type(err).__name__}: {err}") from err
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise PluginError(f"task {name!r}: {ep.value} is not a subclass of idiff.tasks.api.Task")
        return cls

    def describe(self) -> list[TaskInfo]:
        """Every installed task with its distribution, version and import error (if any)."""
        infos = []
        for name in self.names:
            ep = self._entry_points[name]
            dist = ep.dist
            info = TaskInfo(name, ep.value, dist.name if dist else "?", dist.version if dist else "?")
            try:
                self.load(name)
            except PluginError as err:
                info.error = str(err)
            infos.append(info)
        return infos
