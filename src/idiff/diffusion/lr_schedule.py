"""Learning-rate schedules: ``stage.lr_scheduler``, diffusers' ``get_scheduler`` stepped once per optimizer step.

The paper trains at a constant rate (PAPER.md "Model and training"), which is the default and adds no scheduler at
all. diffusers' training examples (``train_instruct_pix2pix.py``: ``--lr_scheduler``, ``--lr_warmup_steps``) offer
warm-up and decays; the same names are accepted here::

    stage:
      lr_scheduler:
        name: linear          # constant (default), constant_with_warmup, linear, cosine, cosine_with_restarts,
        warmup_steps: 500     #   polynomial, piecewise_constant
        # num_cycles: 1       # cosine_with_restarts; power: 1.0 for polynomial; step_rules for piecewise_constant

Steps are optimizer steps (Lightning's ``interval: step``, so gradient accumulation is accounted for), and the
decays end at ``trainer.max_steps`` (Lightning's ``estimated_stepping_batches``). A resumed run (``resume=``)
continues the schedule saved in its checkpoint, and is refused if it adds a schedule its checkpoint did not have or
drops one it had (:func:`check_resumed_schedule`); a run started from other weights (``init_weights=``) starts it
anew, which is how a constant-rate run is annealed afterwards (docs/user-guide.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from diffusers.optimization import SchedulerType, get_scheduler

from idiff.errors import ConfigError

__all__ = ["SCHEDULES", "build_lr_scheduler", "check_lr_scheduler", "check_resumed_schedule", "describe_lr_schedule"]

#: diffusers' schedule names, in its order.
SCHEDULES = tuple(kind.value for kind in SchedulerType)
_DECAYS = ("linear", "cosine", "cosine_with_restarts", "polynomial")  # need the run's length
_KEYS = ("name", "warmup_steps", "num_cycles", "power", "step_rules")


def check_lr_scheduler(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The validated ``stage.lr_scheduler`` (absent or null: constant), or a :class:`ConfigError` naming the key."""
    config = dict(config or {})
    unknown = sorted(set(config) - set(_KEYS))
    if unknown:
        raise ConfigError(f"stage.lr_scheduler.{unknown[0]}: unknown key; allowed: {', '.join(_KEYS)}")
    name = config.get("name") or "constant"
    if name not in SCHEDULES:
        raise ConfigError(f"stage.lr_scheduler.name={name!r}; allowed: {', '.join(SCHEDULES)}")
    warmup = config.get("warmup_steps") or 0
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ConfigError(f"stage.lr_scheduler.warmup_steps={warmup!r}: must be a whole number of steps >= 0")
    if name == "constant" and warmup:
        # diffusers' "constant" ignores num_warmup_steps; say so rather than train without the warm-up asked for
        raise ConfigError(
            f"stage.lr_scheduler.warmup_steps={warmup} with name=constant: a constant schedule has no warm-up; use "
            "name=constant_with_warmup"
        )
    if name == "piecewise_constant" and not config.get("step_rules"):
        raise ConfigError(
            "stage.lr_scheduler.name=piecewise_constant needs stage.lr_scheduler.step_rules, e.g. '1:10,0.1:20,0.01' "
            "(multiplier 1 until step 10, 0.1 until step 20, then 0.01)"
        )
    return {**config, "name": name, "warmup_steps": warmup}


def build_lr_scheduler(
    optimizer: torch.optim.Optimizer, config: Mapping[str, Any] | None, total_steps: float | int
) -> dict[str, Any] | None:
    """Lightning's scheduler entry for ``configure_optimizers``, or None for the constant rate (no scheduler).

    ``total_steps``: the run's optimizer steps (``trainer.estimated_stepping_batches``), needed by the decays.
    """
    config = check_lr_scheduler(config)
    name, warmup = config["name"], config["warmup_steps"]
    if name == "constant":
        return None
    if name in _DECAYS and (total_steps is None or not math.isfinite(total_steps)):
        raise ConfigError(
            f"stage.lr_scheduler.name={name} decays over the run's length, which is not known: set trainer.max_steps"
        )
    if name in _DECAYS and warmup >= total_steps:
        raise ConfigError(
            f"stage.lr_scheduler.warmup_steps={warmup} is not less than the run's {int(total_steps)} optimizer steps"
        )
    extra = {key: config[key] for key in ("num_cycles", "power", "step_rules") if config.get(key) is not None}
    scheduler = get_scheduler(
        name,
        optimizer,
        num_warmup_steps=warmup,
        num_training_steps=int(total_steps) if name in _DECAYS else None,
        **extra,
    )
    return {"scheduler": scheduler, "interval": "step", "frequency": 1, "name": f"lr-{name}"}


def describe_lr_schedule(lr: float, config: Mapping[str, Any] | None) -> str:
    """One line for ``idiff fit``'s start: ``learning rate 0.0001, linear schedule, 500 warm-up steps``."""
    config = check_lr_scheduler(config)
    warmup = f", {config['warmup_steps']} warm-up steps" if config["warmup_steps"] else ""
    return f"learning rate {lr:g}, {config['name']} schedule{warmup}"


def check_resumed_schedule(checkpoint: str | Path, config: Mapping[str, Any] | None) -> None:
    """A :class:`ConfigError` when ``resume=checkpoint`` and ``stage.lr_scheduler`` disagree on having a schedule.

    Lightning restores a scheduler's state only into a scheduler the run also has, and says nothing otherwise: a
    schedule added on resume would start from its step 0 mid-run, one removed would vanish. (A folder, such as a
    DeepSpeed checkpoint, is not checked.)
    """
    path = Path(checkpoint)
    if not path.is_file():
        return
    saved = bool(torch.load(path, map_location="cpu", mmap=True, weights_only=False).get("lr_schedulers"))
    scheduled = check_lr_scheduler(config)["name"] != "constant"
    if scheduled and not saved:
        raise ConfigError(
            f"resume={checkpoint}: that run trained at a constant learning rate, and a stage.lr_scheduler cannot "
            "start mid-run; start a new run from its weights instead (init_weights=<the checkpoint> with the "
            "schedule and trainer.max_steps of the new run), or resume without stage.lr_scheduler"
        )
    if saved and not scheduled:
        raise ConfigError(
            f"resume={checkpoint}: that run had a learning-rate schedule; resume it with the same stage.lr_scheduler "
            "(its run directory's config.yaml has it), or start a new run from its weights with init_weights="
        )
