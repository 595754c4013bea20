"""LightningDataModules: the training mixture, and the requests of one task for validate / test / predict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader, Dataset

from idiff.data.mixture import TaskMixture, collate_samples, images_to_tensor
from idiff.data.sampling import DistributedDraws
from idiff.tasks.api import EditRequest, Task

__all__ = ["MixtureDataModule", "RequestDataModule", "RequestDataset"]


class MixtureDataModule(L.LightningDataModule):
    """Training data: every task of the mixture encodes its labels; the mixture weights them.

    ``tasks`` may hold any source of training samples with ``prepare_data()`` and ``train_dataset()`` (a task plugin,
    or a stage's own data such as :class:`idiff.adaptation.dataset.AdaptationData`).
    """

    def __init__(
        self, tasks: Mapping[str, Task], weights: Mapping[str, float], batch_size: int, num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.tasks = dict(tasks)
        self.weights = dict(weights)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.mixture: TaskMixture | None = None

    def prepare_data(self) -> None:
        for task in self.tasks.values():
            task.prepare_data()

    def setup(self, stage: str) -> None:
        if self.mixture is None:
            datasets = {name: task.train_dataset() for name, task in self.tasks.items()}
            # a task's data.on_error policy; a stage's own data (no task context) raises on a bad item
            policies = {name: task.context.errors for name, task in self.tasks.items() if hasattr(task, "context")}
            self.mixture = TaskMixture(datasets, self.weights, policies)
            rank_zero_info("Training mixture:\n" + self.mixture.describe())

    def train_dataloader(self) -> DataLoader:
        """Batches of ``batch_size`` per process; the processes' k-th batches together are one global batch."""
        assert self.mixture is not None
        sampler = self.mixture.sampler(self.seed)
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        if trainer is not None and trainer.global_step:
            sampler.resume(*self.resume_point(trainer.global_step, trainer.accumulate_grad_batches, world))
        return DataLoader(
            self.mixture,
            batch_size=self.batch_size,
            sampler=DistributedDraws(sampler, world, rank),
            num_workers=self.num_workers,
            collate_fn=collate_samples,
            persistent_workers=self.num_workers > 0,
            drop_last=True,
        )

    def resume_point(self, global_step: int, accumulate: int = 1, world_size: int = 1) -> tuple[int, int]:
        """``(epoch, item)`` where a run restored at ``global_step`` takes up its data again.

        Each of the ``world_size`` processes takes ``samples_per_epoch // world_size`` items of an epoch
        (:class:`~idiff.data.sampling.DistributedDraws`) in ``batch_size`` batches (the last partial batch is dropped),
        and every optimizer step took ``accumulate`` of them, so the steps done fix the global batches done, each
        ``batch_size * world_size`` items of the epoch's sequence: exact when ``accumulate`` is 1 or divides the
        batches of an epoch.
        """
        assert self.mixture is not None
        batches_per_epoch = max(1, self.mixture.samples_per_epoch // world_size // self.batch_size)
        epoch, batch = divmod(global_step * accumulate, batches_per_epoch)
        return epoch, batch * self.batch_size * world_size

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Count, in the main process, the items the workers skipped under ``data.on_error=skip``."""
        if isinstance(batch, dict):
            for name, message in batch.pop("skipped", ()):
                self.tasks[name].context.errors.record(message)
        return batch


class RequestDataset(Dataset):
    """A task's requests as tensors, with the task's guidance scales."""

    def __init__(self, requests: list[EditRequest], text_scale: float, image_scale: float) -> None:
        self.requests = requests
        self.text_scale = text_scale
        self.image_scale = image_scale

    def __len__(self) -> int:
        return len(self.requests)

    def __getitem__(self, index: int) -> tuple[int, EditRequest]:
        return index, self.requests[index]

    def collate(self, items: list[tuple[int, EditRequest]]) -> dict[str, object]:
        return {
            "index": torch.tensor([i for i, _ in items]),
            "source": images_to_tensor([r.source for _, r in items]),
            "instruction": [r.instruction for _, r in items],
            "text_scale": torch.full((len(items),), self.text_scale),
            "image_scale": torch.full((len(items),), self.image_scale),
        }


class RequestDataModule(L.LightningDataModule):
    """Requests of one task, served to validate, test and predict."""

    def __init__(self, requests: list[EditRequest], text_scale: float, image_scale: float, batch_size: int) -> None:
        super().__init__()
        self.dataset = RequestDataset(requests, text_scale, image_scale)
        self.batch_size = batch_size

    def _loader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.batch_size, shuffle=False, collate_fn=self.dataset.collate)

    def val_dataloader(self) -> DataLoader:
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        return self._loader()

    def predict_dataloader(self) -> DataLoader:
        return self._loader()
