"""Pooled image features from a timm backbone, loaded from a local weights file only.

GIQA (Gu et al., ECCV 2020) scores an image by how close its features lie to those of a reference set of real
images. The released code used Inception-v3 pool features; any ImageNet backbone works, so the backbone is a timm
model name (``resnet50``, ``inception_v3``, ``convnext_tiny`` ...). Weights come from a local file through timm's own
loader (``pretrained_cfg_overlay=dict(file=...)``, which drops the classifier), never from a hub. Without weights the
backbone is randomly initialised: such features still separate, say, noise from natural textures, but they are not
the learned features GIQA assumes, and :class:`ImageFeatures` says so once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import timm
import timm.data
import torch
import torch.nn.functional as F
from torch import nn

from idiff.errors import ConfigError

__all__ = ["ImageFeatures", "create_backbone"]


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


class ImageFeatures:
    """Embed uint8 RGB images as the backbone's globally pooled features.

    Args:
        backbone: a timm model name.
        weights: a local ``.safetensors`` / ``.pth`` / ``.bin`` file of that model's weights, or None (random).
        image_size: side the images are resized to (bilinear, antialiased) before normalising with the
            backbone's ImageNet mean / std.
        batch_size: images per forward pass.
        device: torch device.
        key: the config section of these options, for messages (``filter.backbone=...``).
    """

    def __init__(
        self,
        backbone: str = "resnet50",
        weights: str | Path | None = None,
        image_size: int = 224,
        batch_size: int = 16,
        device: str = "cpu",
        key: str = "filter",
    ) -> None:
        if weights is None:
            warnings.warn(
                f"GIQA features from a randomly initialised {backbone}: set the backbone weights to a local file "
                "for the learned features GIQA assumes",
                stacklevel=2,
            )
        model = create_backbone(backbone, weights, key + ".backbone", key + ".backbone_weights", num_classes=0)
        config = timm.data.resolve_data_config({}, model=model)
        self.model = model.eval().to(device)
        self.mean = torch.tensor(config["mean"], device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(config["std"], device=device).view(1, 3, 1, 1)
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        self.device = device
        self.dim = int(model.num_features)

    def _batch(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        tensors = []
        for image in images:
            x = torch.from_numpy(np.array(image, np.uint8)).to(self.device).permute(2, 0, 1)[None].float() / 255
            size = (self.image_size, self.image_size)
            tensors.append(F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False))
        return (torch.cat(tensors) - self.mean) / self.std

    @torch.inference_mode()
    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dim) float32 features of N uint8 (H, W, 3) images (any sizes)."""
        out = [
            self.model(self._batch(images[start : start + self.batch_size])).float().cpu().numpy()
            for start in range(0, len(images), self.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)
