"""What each training stage trains on (PAPER.md "Model and training"), chosen by ``stage.name``.

- ``pretrain_adaptation`` (stage 1): images with random circles / colour patches and extended captions
  (:mod:`idiff.adaptation`), text-to-image (``stage.text_to_image``);
- ``task_specific`` (stage 2): the task mixture of ``data.mixture``;
- ``human_alignment`` (stage 3): people's picks among generated candidates (:mod:`idiff.alignment`), for
  ``stage.epochs`` epochs.

Every source offers ``prepare_data()`` and ``train_dataset()`` like a task, so one
:class:`~idiff.data.datamodule.MixtureDataModule` serves them all.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from idiff.adaptation.dataset import AdaptationData
from idiff.alignment.picks import AlignmentData
from idiff.data.datamodule import MixtureDataModule
from idiff.errors import ConfigError
from idiff.tasks.api import Task
from idiff.tasks.factory import build_task
from idiff.tasks.registry import TaskRegistry

__all__ = ["STAGES", "mixture_tasks", "stage_trainer_arguments", "training_data", "training_sources"]

STAGES = ("pretrain_adaptation", "task_specific", "human_alignment")


def mixture_tasks(cfg: DictConfig, registry: TaskRegistry | None = None) -> dict[str, Task]:
    """The tasks of ``data.mixture``, each configured by ``data.tasks.<name>`` and, for the selected task, ``task``.

    ``registry`` finds the tasks (default: the installed plugins); tests pass one of hand-built entry points.
    """
    return {name: build_task(name, cfg, registry=registry) for name in cfg.data.mixture}


def training_sources(cfg: DictConfig, registry: TaskRegistry | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    """The stage's sources of training samples by name, and their sample weights."""
    stage = cfg.stage
    match stage.name:
        case "task_specific":
            return mixture_tasks(cfg, registry), OmegaConf.to_container(cfg.data.mixture, resolve=True)  # type: ignore[return-value]
        case "pretrain_adaptation":
            tasks = mixture_tasks(cfg, registry) if stage.images == "tasks" else {}
            marks = OmegaConf.to_container(stage.marks, resolve=True)
            data = AdaptationData(stage.images, stage.get("captions"), marks, cfg.model.resolution, cfg.seed, tasks)
            return {"pretrain_adaptation": data}, {"pretrain_adaptation": 1.0}
        case "human_alignment":
            for key in ("candidates", "picks"):
                if OmegaConf.is_missing(stage, key) or not stage[key]:
                    raise ConfigError(f"stage=human_alignment needs stage.{key}=<path to {key}.jsonl>")
            data = AlignmentData(stage.candidates, stage.picks, cfg.model.resolution)
            return {"human_alignment": data}, {"human_alignment": 1.0}
        case other:
            raise ConfigError(f"stage.name={other!r}; allowed: {', '.join(STAGES)}")


def training_data(cfg: DictConfig, registry: TaskRegistry | None = None) -> MixtureDataModule:
    """The data module of the configured stage."""
    sources, weights = training_sources(cfg, registry)
    return MixtureDataModule(sources, weights, cfg.data.batch_size, cfg.data.num_workers, cfg.seed)


def stage_trainer_arguments(cfg: DictConfig) -> dict[str, Any]:
    """Trainer arguments a stage fixes: ``stage.epochs`` (e.g. 10 for human alignment) replaces ``max_steps``."""
    epochs = cfg.stage.get("epochs")
    if not epochs:
        return {}
    if int(epochs) < 1:
        raise ConfigError(f"stage.epochs={epochs}: must be >= 1, or null to train for trainer.max_steps")
    return {"max_epochs": int(epochs), "max_steps": -1}
