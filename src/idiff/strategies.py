"""Checks on the distributed strategy before Lightning builds it, so a missing piece is one line, not a traceback.

``strategy=`` selects a Lightning strategy (conf/strategy/): ``ddp`` (NCCL on GPUs, gloo on CPUs), ``fsdp``,
``deepspeed``; ``trainer.devices`` and ``trainer.num_nodes`` say how many processes. DeepSpeed is an optional
dependency; FSDP shards the parameters the EMA needs whole.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from omegaconf import DictConfig

from idiff.errors import ConfigError

__all__ = ["check_strategy", "strategy_name"]


def strategy_name(strategy: Any) -> str:
    """``ddp``, ``fsdp``, ``deepspeed`` ... for a ``trainer.strategy`` value (a name or a ``_target_`` node)."""
    if isinstance(strategy, (dict, DictConfig)):
        target = str(strategy.get("_target_", "")).rsplit(".", 1)[-1]
        return target.removesuffix("Strategy").lower() or "custom"
    return str(strategy).lower()


def check_strategy(cfg: DictConfig) -> None:
    """Refuse, in one line, a strategy that cannot run with this install or this stage."""
    name = strategy_name(cfg.trainer.get("strategy", "auto"))
    if name.startswith("deepspeed") and importlib.util.find_spec("deepspeed") is None:
        raise ConfigError(
            "strategy=deepspeed needs the deepspeed package (pip install deepspeed; CUDA GPUs); "
            "or use strategy=ddp"
        )
    if name.startswith("fsdp") and cfg.stage.get("ema_decay"):
        raise ConfigError(
            f"strategy=fsdp shards the UNet's parameters, which the EMA (stage.ema_decay={cfg.stage.ema_decay}) "
            "needs whole: use strategy=deepspeed (ZeRO-1, as the paper) or ddp, or set stage.ema_decay=null"
        )
