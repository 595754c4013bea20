"""The multi-task training mixture with per-dataset sample weights (PAPER.md "Encodings", "Model and training").

A dataset of N samples with weight w contributes w * N samples to an epoch on average (e.g. SIDD 20, REDS 0.2):
items are drawn with replacement, each with probability proportional to its dataset's weight
(:class:`~idiff.data.draws.ResumableWeightedSampler`). A drawn item comes as ``(index, draw)``
(:class:`idiff.data.sampling.DistributedDraws`) and is encoded inside :func:`~idiff.data.draws.drawing`, keyed by its
draw number, so its random choices do not depend on what ran before; the draw number travels with the batch
(``batch["draw"]``). Under ``data.on_error=skip`` an item whose files cannot be read is replaced by the next item of
the same dataset and the skip travels with the batch (``batch["skipped"]``) to the main process, which counts it.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

from idiff.data.draws import ResumableWeightedSampler, drawing
from idiff.data.error_policy import ErrorPolicy
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
    """A mixture item: the sample, its draw number (None when asked for by index alone), and ``(task, message)`` of
    the items skipped to get it (``on_error=skip``)."""

    sample: EditSample
    draw: int | None = None
    skipped: tuple[tuple[str, str], ...] = ()


class TaskMixture(ConcatDataset):
    """Concatenation of task datasets with a sampler that honours their sample weights.

    Args:
        datasets: each task's training dataset, by task name.
        weights: sample weight by task name (1.0 when absent).
        policies: each task's ``data.on_error`` policy (``raise`` when absent).
    """

    def __init__(
        self, datasets: Mapping[str, Dataset[EditSample]], weights: Mapping[str, float],
        policies: Mapping[str, ErrorPolicy] | None = None,
    ) -> None:
        self.policies = dict(policies or {})
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

    def sampler(self, seed: int = 0) -> ResumableWeightedSampler:
        """Draws ``samples_per_epoch`` items with replacement, P(item) proportional to its dataset's weight."""
        weights = np.concatenate([np.full(e.size, e.weight, dtype=np.float64) for e in self.entries])
        return ResumableWeightedSampler(weights.tolist(), self.samples_per_epoch, seed)

    def __getitem__(self, item: int | tuple[int, int]) -> DrawnSample:
        """Item ``index`` or ``(index, draw)`` (from the sampler: encoded inside ``drawing(draw, attempt)``)."""
        index, draw = item if isinstance(item, tuple) else (item, None)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        entry, dataset = self.entries[which], self.datasets[which]
        local = index - (self.cumulative_sizes[which - 1] if which else 0)
        policy = self.policies.get(entry.name) or ErrorPolicy()
        skipped: list[tuple[str, str]] = []
        for attempt in range(entry.size):
            key = drawing(draw, attempt) if draw is not None else contextlib.nullcontext()
            try:
                with key:
                    sample = dataset[(local + attempt) % entry.size]
                return DrawnSample(sample, None if draw is None else int(draw), tuple(skipped))
            except DataError as err:
                if not policy.skips:
                    raise
                skipped.append((entry.name, str(err)))
        raise DataError(f"task {entry.name!r}: none of its {entry.size} training samples can be read; "
                        f"first: {skipped[0][1]}")

    def describe(self) -> str:
        """A short table of the mixture: task, size, weight, effective samples per epoch.

        A task dataset with a ``describe()`` method (e.g. one weighting several datasets inside the task, as the
        enhancement and editing plugins do) adds its own lines, indented, under its task's row.
        """
        lines = [f"{'task':<20}{'samples':>10}{'weight':>10}{'per epoch':>12}"]
        for entry, dataset in zip(self.entries, self.datasets, strict=True):
            lines.append(f"{entry.name:<20}{entry.size:>10}{entry.weight:>10g}{entry.effective_samples:>12.0f}")
            inner = getattr(dataset, "describe", None)
            if callable(inner):
                lines += [f"    {line}" for line in str(inner()).splitlines()]
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

    ``draw`` (int64, one per sample) is there when every item came with its draw number; ``skipped`` lists the
    ``(task, message)`` of items skipped under ``data.on_error=skip`` for this batch.
    """
    samples = [item.sample if isinstance(item, DrawnSample) else item for item in items]
    batch: dict[str, object] = {
        "source": images_to_tensor([s.source for s in samples]),
        "target": images_to_tensor([s.target for s in samples]),
        "instruction": [s.instruction for s in samples],
        "skipped": [skip for item in items if isinstance(item, DrawnSample) for skip in item.skipped],
    }
    draws = [getattr(item, "draw", None) for item in items]
    if draws and all(d is not None for d in draws):
        batch["draw"] = torch.tensor(draws, dtype=torch.int64)
    return batch
