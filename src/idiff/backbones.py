"""timm backbones from local weights only, for the learned decoders and the GIQA features.

timm's own loader reads a local file through ``pretrained_cfg_overlay={"file": ...}`` (it drops or adapts what the
model variant does not have: a classifier for ``num_classes=0``, the first convolution for ``in_chans``); nothing is
downloaded. Without a file the backbone is randomly initialised. Errors name the config keys that gave the values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import timm
from torch import nn

from idiff.errors import ConfigError

__all__ = ["create_backbone"]


def create_backbone(
    name: str, weights: str | Path | None, name_key: str, weights_key: str, **kwargs: Any
) -> nn.Module:
    """``timm.create_model(name, **kwargs)``, random or from the local ``weights`` file.

    Args:
        name: a timm model name.
        weights: a local weights file of that model, or None.
        name_key: the config key of ``name``, for messages (e.g. ``stage.backbone``).
        weights_key: the config key of ``weights``.
        kwargs: passed to ``timm.create_model`` (``features_only``, ``num_classes``, ``in_chans`` ...).

    Raises:
        ConfigError: unknown model name, missing file, or weights that do not fit the model.
    """
    if not timm.is_model(name):
        raise ConfigError(f"{name_key}={name}: not a timm model name (see timm.list_models(), e.g. resnet10t)")
    if weights is not None and not Path(weights).is_file():
        raise ConfigError(f"{weights_key}={weights}: no such file (a local file of {name}'s weights)")
    if weights is None:
        return timm.create_model(name, pretrained=False, **kwargs)
    try:
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(weights)}, **kwargs)
    except (RuntimeError, KeyError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"{weights_key}={weights}: does not fit timm model {name}: {first}") from None
