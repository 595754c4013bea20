"""Task plugins: the contract (:mod:`idiff.tasks.api`) and their discovery (:mod:`idiff.tasks.registry`)."""

from idiff.tasks.api import EditRequest, EditSample, GuidanceScales, Task, TaskConfig, TaskContext

__all__ = ["EditRequest", "EditSample", "GuidanceScales", "Task", "TaskConfig", "TaskContext"]
