"""Build a task plugin from its name and config overrides, validated against the plugin's dataclass schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from idiff.errors import ConfigError
from idiff.tasks.api import Task, TaskConfig, TaskContext
from idiff.tasks.registry import TaskRegistry

__all__ = ["build_task", "task_config"]


def task_config(name: str, schema: type[TaskConfig], overrides: Any) -> TaskConfig:
    """Merge ``overrides`` into the plugin's dataclass defaults; bad keys or values name the key."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), overrides or {})
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        key = f"task.{err.full_key}" if getattr(err, "full_key", None) else "task"
        raise ConfigError(f"{key} (task {name!r}): {err.msg}".splitlines()[0]) from err
    except (TypeError, ValueError) as err:  # the plugin's own __post_init__ validation
        raise ConfigError(f"task {name!r}: {err}".splitlines()[0]) from err


def build_task(
    name: str, overrides: Any, cfg: DictConfig, resolution: int | None = None, registry: TaskRegistry | None = None
) -> Task:
    """Instantiate task ``name`` for the run described by ``cfg`` (data dir, resolution, seed)."""
    cls = (registry or TaskRegistry()).load(name)
    config = task_config(name, cls.Config, overrides)
    context = TaskContext(
        resolution=int(resolution or cfg.model.resolution),
        data_dir=Path(cfg.paths.data_dir) / name,
        seed=int(cfg.seed),
    )
    return cls(config, context)
