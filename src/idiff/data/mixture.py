"""The multi-task training mixture with per-dataset sample weights (PAPER.md "Encodings", "Model and training").

A dataset of N samples with weight w contributes w * N samples to an epoch on average (e.g. SIDD 20, REDS 0.2):
items are drawn with replacement, each with probability proportional to its dataset's weight. A drawn item comes
as ``(index, draw)`` (:class:`idiff.data.sampling.DistributedDraws`) and is encoded inside
:func:`idiff.data.draws.drawing`; its draw number travels with the batch (``batch["draw"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset, WeightedRandomSampler

from idiff.data.draws import drawing
from idiff.errors import ConfigError, DataError
from idiff.tasks.api import EditSample

__all__ = ["DrawnSample", "MixtureEntry", "TaskMixture", "collate_samples", "images_to_tensor", "tensor_to_images"]


@dataclass
class MixtureEntry:
    """One dataset in the mixture: its name, size, weight and effective samples per epoch."""

    name: str
    size: int
    weight: float

    @property
    def effective_samples(self) -> float:
        return self.size * self.weight


@dataclass
class DrawnSample:
    """A mixture item and its draw number (None when the item was asked for by index alone)."""

    sample: EditSample
    draw: int | None = None


class TaskMixture(ConcatDataset):
    """Concatenation of task datasets with a sampler that honours their sample weights."""

    def __init__(self, datasets: Mapping[str, Dataset[EditSample]], weights: Mapping[str, float]) -> None:
        if not datasets:
            raise ConfigError("data.mixture is empty: name at least one task, e.g. data.mixture={keypoints: 1.0}")
        self.entries = []
        for name, dataset in datasets.items():
            weight = float(weights.get(name, 1.0))
            if weight <= 0:
                raise ConfigError(f"data.mixture.{name}: sample weight must be > 0, got {weight}")
            size = len(dataset)  # type: ignore[arg-type]
            if size == 0:
                raise DataError(f"task {name!r}: its training dataset is empty (check its data_dir)")
            self.entries.append(MixtureEntry(name, size, weight))
        super().__init__(list(datasets.values()))

    @property
    def samples_per_epoch(self) -> int:
        return max(1, round(sum(entry.effective_samples for entry in self.entries)))

    def sampler(self, seed: int = 0) -> WeightedRandomSampler:
        """Draws ``samples_per_epoch`` items with replacement, P(item) proportional to its dataset's weight."""
        weights = np.concatenate([np.full(e.size, e.weight, dtype=np.float64) for e in self.entries])
        generator = torch.Generator().manual_seed(seed)
        return WeightedRandomSampler(weights.tolist(), self.samples_per_epoch, replacement=True, generator=generator)

    def __getitem__(self, item: int | tuple[int, int]) -> DrawnSample:
        """Item ``index`` or ``(index, draw)``; a drawn item is encoded inside :func:`~idiff.data.draws.drawing`."""
        index, draw = item if isinstance(item, tuple) else (item, None)
        if draw is None:
            return DrawnSample(super().__getitem__(index))
        with drawing(draw):
            return DrawnSample(super().__getitem__(index), int(draw))

    def describe(self) -> str:
        """A short table of the mixture: dataset, size, weight, effective samples per epoch."""
        lines = [f"{'task':<20}{'samples':>10}{'weight':>10}{'per epoch':>12}"]
        lines += [f"{e.name:<20}{e.size:>10}{e.weight:>10g}{e.effective_samples:>12.0f}" for e in self.entries]
        lines.append(f"{'total':<20}{'':>10}{'':>10}{self.samples_per_epoch:>12}")
        return "\n".join(lines)


def images_to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """uint8 (H, W, 3) images -> float tensor (B, 3, H, W) in [-1, 1]."""
    array = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return array / 127.5 - 1.0


def tensor_to_images(tensor: torch.Tensor) -> np.ndarray:
    """Float tensor (B, 3, H, W) in [-1, 1] -> uint8 array (B, H, W, 3)."""
    array = ((tensor.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return array.permute(0, 2, 3, 1).cpu().numpy()


def collate_samples(items: list[EditSample | DrawnSample]) -> dict[str, object]:
    """Batch training samples for :meth:`idiff.module.DiffusionModule.training_step`.

    ``draw`` (int64, one per sample) is there when every item came with its draw number.
    """
    samples = [item.sample if isinstance(item, DrawnSample) else item for item in items]
    batch: dict[str, object] = {
        "source": images_to_tensor([s.source for s in samples]),
        "target": images_to_tensor([s.target for s in samples]),
        "instruction": [s.instruction for s in samples],
    }
    draws = [getattr(item, "draw", None) for item in items]
    if draws and all(d is not None for d in draws):
        batch["draw"] = torch.tensor(draws, dtype=torch.int64)
    return batch
