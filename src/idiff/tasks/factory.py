"""Build a task plugin from its name and config overrides, validated against the plugin's dataclass schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from idiff.data.error_policy import ErrorPolicy
from idiff.errors import ConfigError
from idiff.tasks.api import Task, TaskConfig, TaskContext
from idiff.tasks.registry import TaskRegistry

__all__ = ["build_task", "task_config", "task_overrides"]


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


def task_overrides(name: str, schema: type[TaskConfig], cfg: DictConfig) -> DictConfig:
    """What the run sets for task ``name``: ``data.tasks.<name>``, then, for the selected task, the ``task``
    node's values that differ from the plugin's defaults or were set on the command line (``explicit_task_keys``,
    written by ``idiff.cli.prepare_overrides``): ``task.<option>=`` on the command line wins."""
    from_data = (cfg.data.get("tasks") or {}).get(name) or {}
    overrides = OmegaConf.create(OmegaConf.to_container(from_data) if isinstance(from_data, DictConfig) else from_data)
    if name == cfg.get("task_name") and cfg.get("task") is not None:
        defaults = OmegaConf.structured(schema)
        changed = OmegaConf.create(
            {key: cfg.task[key] for key in cfg.task if key not in defaults or cfg.task[key] != defaults[key]}
        )
        for key in cfg.get("explicit_task_keys") or ():  # set on the command line, maybe to the plugin's default
            OmegaConf.update(changed, key, OmegaConf.select(cfg.task, key), force_add=True)
        overrides = OmegaConf.merge(overrides, changed)
    return overrides


def build_task(name: str, cfg: DictConfig, resolution: int | None = None, registry: TaskRegistry | None = None) -> Task:
    """Instantiate task ``name`` for the run described by ``cfg`` (its options, data dir, resolution, seed)."""
    cls = (registry or TaskRegistry()).load(name)
    config = task_config(name, cls.Config, task_overrides(name, cls.Config, cfg))
    context = TaskContext(
        resolution=int(resolution or cfg.model.resolution),
        data_dir=Path(cfg.paths.data_dir) / name,
        seed=int(cfg.seed),
        errors=ErrorPolicy(str(cfg.data.get("on_error", "raise")), name),
    )
    return cls(config, context)
