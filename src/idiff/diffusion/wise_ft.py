"""WiSE-FT: the fine-tuned weights averaged with the weights the fine-tuning started from.

Wortsman et al., "Robust fine-tuning of zero-shot models" (CVPR 2022): fine-tuning a pretrained model on new data
teaches it the new data and costs it part of what it knew; the linear interpolation of the two weight sets,

    theta = (1 - alpha) * theta_start + alpha * theta_fine_tuned,

keeps much of both, because fine-tuning from one start stays in one basin of the loss where such averages are
good models themselves. ``stage.wise_ft = alpha`` makes a fit keep the weights it starts from (``init_weights`` or
the pretrained folder; what it trains: the UNet, the source filter, the text encoder when trained) in its
checkpoints, and everything that generates from the checkpoint (``idiff test``, ``predict``, ``export``, the app)
generates with the interpolation, taken after the EMA weights replace the raw ones. ``wise_ft=<alpha>`` on the
command line chooses another alpha for that command (1.0: the fine-tuned weights alone, 0.0: the start).
Measured on the embedded default: docs/architecture.md, "The embedded default".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from idiff.errors import ConfigError

__all__ = ["START_WEIGHTS_KEY", "check_alpha", "interpolate", "start_weights"]

#: where a Lightning checkpoint keeps the start weights (beside ``state_dict`` and the module's ``ema``)
START_WEIGHTS_KEY = "wise_ft_start"


def check_alpha(value: Any, key: str) -> float | None:
    """``value`` as alpha in [0, 1], or None when unset; anything else is a :class:`ConfigError` naming ``key``."""
    if value is None:
        return None
    try:
        alpha = float(value)
    except (TypeError, ValueError):
        alpha = float("nan")
    if not 0.0 <= alpha <= 1.0 or isinstance(value, bool):
        raise ConfigError(
            f"{key}={value!r}: the fine-tuned weights' share of the WiSE-FT average must be a number in [0, 1] "
            "(0.5 averages them with the start evenly, 1.0 keeps them alone), or null to keep no start weights"
        )
    return alpha


def start_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the parameters ``model`` trains (``requires_grad``), by name: what WiSE-FT averages with."""
    return {name: p.detach().to("cpu", copy=True) for name, p in model.named_parameters() if p.requires_grad}


@torch.no_grad()
def interpolate(model: nn.Module, start: Mapping[str, torch.Tensor], alpha: float) -> None:
    """Replace each parameter named in ``start`` by ``(1 - alpha) * start + alpha * parameter``, in place.

    A start that does not fit the model (a name it lacks, another shape) is a :class:`ConfigError`.
    """
    params = dict(model.named_parameters())
    for name, value in start.items():
        if name not in params or params[name].shape != value.shape:
            found = "absent from the model" if name not in params else f"{tuple(params[name].shape)} in the model"
            raise ConfigError(
                f"WiSE-FT: the checkpoint's start weight {name!r} {tuple(value.shape)} does not fit ({found}); the "
                "checkpoint is damaged or of another model; generate with wise_ft=1.0 to use its weights alone"
            )
        params[name].lerp_(value.to(params[name]), 1.0 - alpha)
