"""The learned decoder's LightningModule: degraded encoded targets in, the task's label maps out.

Training step: the batch's clean targets are degraded (:class:`~idiff.decoders.degradation.Degradation`, one
generator keyed by the run seed and the step, so a run repeats itself), the network reads (degraded target,
source), and the loss is a per-pixel binary cross-entropy against the label maps, with the positive pixels weighted
up (``positive_weight``): a keypoint heatmap is almost all zeros, and a plain mean would teach "nothing anywhere".
"""

from __future__ import annotations

from typing import Any

import hydra.utils
import lightning as L
import torch
import torch.nn.functional as F

from idiff.decoders.degradation import Degradation
from idiff.decoders.network import DecoderNet

__all__ = ["DecoderModule"]


class DecoderModule(L.LightningModule):
    """A :class:`DecoderNet` trained on one task's :class:`~idiff.tasks.api.LearnedDecoding` samples.

    Args:
        task: the task's name (the decoder reads only that task's encodings).
        channels: output maps (the task's ``LearnedDecoding.channels``).
        resolution: the image size it was trained at.
        network: keyword arguments of :class:`DecoderNet` (``backbone``, ``widths``, ``backbone_weights``).
        degradation: fields of :class:`Degradation` to override.
        optimizer: a Hydra ``_target_`` node (e.g. ``torch.optim.AdamW``).
        positive_weight: loss weight of a pixel whose label is 1 (linear in the label), against 1 for a 0.
        seed: seeds the degradation.
    """

    def __init__(self, task: str, channels: int, resolution: int, network: dict[str, Any] | None = None,
                 degradation: dict[str, Any] | None = None, optimizer: dict[str, Any] | None = None,
                 positive_weight: float = 20.0, seed: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()
        network = dict(network or {})
        network["backbone_weights"] = None if not network.get("backbone_weights") else network["backbone_weights"]
        self.net = DecoderNet(channels, **network)
        self.degradation = Degradation(**(degradation or {}))

    def forward(self, generated: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """Logits (B, C, H, W) from generated and source images (B, 3, H, W) in [0, 1]."""
        return self.net(torch.cat([generated, source], dim=1))

    def maps(self, generated: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """The decoder's maps in [0, 1]."""
        return torch.sigmoid(self(generated, source))

    def degrade(self, batch: dict[str, torch.Tensor], step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's targets as a model might have drawn them, and their labels (moved with the marks)."""
        generator = torch.Generator().manual_seed(int(self.hparams["seed"]) * 1_000_003 + step)
        source, target, label = (batch[k].float().cpu() for k in ("source", "target", "label"))
        generated, moved = self.degradation(source, target, label, generator)
        return generated.to(self.device), moved.to(self.device)

    def loss(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy per pixel, positives weighted by ``positive_weight``."""
        weight = 1.0 + (float(self.hparams["positive_weight"]) - 1.0) * label
        return F.binary_cross_entropy_with_logits(logits, label, weight=weight)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        generated, label = self.degrade(batch, self.global_step)
        loss = self.loss(self(generated, batch["source"]), label)
        self.log("train/loss", loss, prog_bar=True, batch_size=label.shape[0])
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        node = dict(self.hparams["optimizer"] or {"_target_": "torch.optim.AdamW", "lr": 1e-3})
        return hydra.utils.instantiate(node, params=self.parameters(), _convert_="all")
