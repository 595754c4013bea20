"""The global batch: batch per device x devices x nodes x gradient accumulation (PAPER.md: 3072 = 64 x 48 V100).

A recipe names the global batch it wants (``data.global_batch_size``) and the most one device holds
(``data.max_batch_size_per_device``); the OmegaConf resolvers below work out ``data.batch_size`` and
``trainer.accumulate_grad_batches`` for whatever ``trainer.devices`` and ``trainer.num_nodes`` a run has, so the
same recipe is the same optimisation on 1, 8 or 64 GPUs (conf/experiment/paper.yaml)::

    data.batch_size: ${idiff.per_device_batch:<global>,<max per device>,${trainer.devices},${trainer.num_nodes}}
    trainer.accumulate_grad_batches: ${idiff.accumulation:<global>,${data.batch_size},<devices>,<nodes>}

The resolvers are registered when ``idiff.conf`` is imported (Hydra imports it to read the configs). ``idiff fit``
prints the result (:func:`describe_batch`) and refuses a combination that misses the target.
"""

from __future__ import annotations

import math
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from idiff.errors import ConfigError

__all__ = ["accumulation", "describe_batch", "device_count", "per_device_batch", "register_resolvers"]


def device_count(devices: Any) -> int:
    """How many devices ``trainer.devices`` means: an int, a list of ids, ``"0,1,3"``, or ``auto`` / -1 (all GPUs)."""
    if isinstance(devices, (list, tuple, ListConfig)):
        return len(devices)
    text = str(devices).strip()
    if text in ("auto", "-1"):
        import torch

        return max(1, torch.cuda.device_count())
    if "," in text:
        return len([d for d in text.split(",") if d.strip()])
    try:
        count = int(text)
    except ValueError:
        raise ConfigError(f"trainer.devices={devices!r}: expected a number, a list of ids or auto") from None
    if count < 1:
        raise ConfigError(f"trainer.devices={devices}: must be >= 1 (or auto)")
    return count


def _processes(devices: Any, num_nodes: Any) -> int:
    return device_count(devices) * int(num_nodes)


def per_device_batch(global_batch: Any, max_per_device: Any, devices: Any, num_nodes: Any = 1) -> int:
    """The largest per-device batch <= ``max_per_device`` that splits ``global_batch`` evenly over the processes.

    1 device: 64 (x 48 accumulation), 8 devices: 64 (x 6), 48: 64 (x 1), 64 devices: 48 (x 1), for 3072 / 64.
    """
    target, limit, processes = int(global_batch), int(max_per_device), _processes(devices, num_nodes)
    if target % processes:
        raise ConfigError(
            f"data.global_batch_size={target} cannot be split evenly over {processes} processes "
            f"(trainer.devices x trainer.num_nodes); choose a device count that divides it, or another global batch"
        )
    per_process = target // processes
    for steps in range(math.ceil(per_process / limit), per_process + 1):
        if per_process % steps == 0:
            return per_process // steps
    return 1  # unreachable: steps == per_process always divides


def accumulation(global_batch: Any, batch_size: Any, devices: Any, num_nodes: Any = 1) -> int:
    """Accumulation steps so that ``batch_size x processes x steps == global_batch``."""
    target, batch, processes = int(global_batch), int(batch_size), _processes(devices, num_nodes)
    if target % (batch * processes):
        raise ConfigError(
            f"data.global_batch_size={target} is not a multiple of data.batch_size={batch} x {processes} processes; "
            "leave data.batch_size to the recipe, or pick one that divides it"
        )
    return target // (batch * processes)


def describe_batch(cfg: DictConfig) -> str:
    """One line stating the global batch of a fit run; a ConfigError when it misses ``data.global_batch_size``."""
    data, trainer = cfg.data, cfg.trainer
    processes = _processes(trainer.devices, trainer.num_nodes)
    try:
        batch, steps = int(data.batch_size), int(trainer.get("accumulate_grad_batches") or 1)
    except InterpolationResolutionError as err:  # a resolver's ConfigError, wrapped by OmegaConf
        raise ConfigError(str(err).splitlines()[0].split("resolving interpolation: ", 1)[-1]) from None
    total = batch * processes * steps
    wanted = data.get("global_batch_size")
    if wanted and total != int(wanted):
        raise ConfigError(
            f"global batch {batch} x {processes} processes x {steps} accumulation = {total}, but "
            f"data.global_batch_size={wanted}; drop the explicit data.batch_size / trainer.accumulate_grad_batches, "
            "or set data.global_batch_size=null"
        )
    return (f"global batch: {batch} per device x {device_count(trainer.devices)} devices x "
            f"{trainer.num_nodes} nodes x {steps} accumulation = {total} samples per optimizer step")


def register_resolvers() -> None:
    """Register ``${idiff.per_device_batch:...}`` and ``${idiff.accumulation:...}`` (idempotent)."""
    OmegaConf.register_new_resolver("idiff.per_device_batch", per_device_batch, replace=True)
    OmegaConf.register_new_resolver("idiff.accumulation", accumulation, replace=True)
