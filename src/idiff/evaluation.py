"""Evaluation: generated images -> the task's decoder -> the task's evaluator -> metrics, JSON and an image grid.

A Lightning callback, so the LightningModule stays task-agnostic: its ``test_step`` returns generated images and
this callback hands them to the task plugin (DESIGN.md "Data flow (test)"). Several decoders (the task's analytic
one and a learned one, :mod:`idiff.decoders.learned`) can read the same generations: the first gives the unprefixed
metrics, each other one ``<name>/<metric>``, and ``metrics.json`` records each one's milliseconds per image.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch.callbacks import Callback

from idiff.data.mixture import tensor_to_images
from idiff.decoders.learned import AnalyticDecoder, BatchDecoder
from idiff.files import atomic_write_json, atomic_write_png
from idiff.tasks.api import EditRequest, Task

__all__ = ["TaskEvaluation", "image_grid"]


def image_grid(rows: list[list[np.ndarray]], pad: int = 2) -> np.ndarray:
    """Tile equally sized uint8 (H, W, 3) images into one image, rows by columns, white padding."""
    height, width = rows[0][0].shape[:2]
    columns = max(len(r) for r in rows)
    grid = np.full((len(rows) * (height + pad) + pad, columns * (width + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            y, x = pad + i * (height + pad), pad + j * (width + pad)
            grid[y : y + height, x : x + width] = image
    return grid


class TaskEvaluation(Callback):
    """Decodes and scores what the module generates for one task's requests.

    Args:
        task: the task plugin.
        requests: the requests the dataloader serves, by index.
        out_dir: where metrics.json, grid.png and the task's own files go.
        grid_rows: how many requests the grid shows (source | target | generated | decoded).
        metadata: extra fields for metrics.json (checkpoint, task name, ...).
        identity_baseline: also score the identity output (generated == source) as ``identity/<metric>``:
            the floor any trained model must beat.
        decoders: batch decoders by name (default: the task's ``decode`` as ``analytic``); the first one's metrics
            are unprefixed and its predictions go into the grid, the others' are ``<name>/<metric>``.
    """

    def __init__(
        self, task: Task, requests: list[EditRequest], out_dir: Path, grid_rows: int = 8,
        metadata: dict[str, Any] | None = None, identity_baseline: bool = True,
        decoders: Mapping[str, BatchDecoder] | None = None,
    ) -> None:
        self.identity_baseline = identity_baseline
        self.task = task
        self.requests = requests
        self.out_dir = Path(out_dir)
        self.grid_rows = grid_rows
        self.metadata = metadata or {}
        self.decoders = dict(decoders) if decoders else {"analytic": AnalyticDecoder(task)}
        self.predictions: dict[str, dict[int, Any]] = {name: {} for name in self.decoders}
        self.seconds = dict.fromkeys(self.decoders, 0.0)
        self.samples: dict[int, np.ndarray] = {}
        self.metrics: dict[str, float] = {}
        self.ms_per_image: dict[str, float] = {}

    def _collect(self, outputs: torch.Tensor, batch: dict[str, Any]) -> None:
        indices = batch["index"].tolist()
        images = list(tensor_to_images(outputs))
        requests = [self.requests[i] for i in indices]
        for name, decoder in self.decoders.items():
            started = time.perf_counter()
            self.predictions[name].update(zip(indices, decoder(images, requests), strict=True))
            self.seconds[name] += time.perf_counter() - started
        for index, image in zip(indices, images, strict=True):
            if len(self.samples) < self.grid_rows:
                self.samples[index] = image

    def on_test_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                          batch_idx: int, dataloader_idx: int = 0) -> None:
        self._collect(outputs, batch)

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        self._collect(outputs, batch)

    def _gather(self) -> tuple[dict[str, dict[int, Any]], dict[int, np.ndarray], dict[str, float]]:
        if not (dist.is_available() and dist.is_initialized()):
            return self.predictions, self.samples, self.seconds
        parts: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(parts, (self.predictions, self.samples, self.seconds))
        predictions: dict[str, dict[int, Any]] = {name: {} for name in self.decoders}
        samples: dict[int, np.ndarray] = {}
        seconds = dict.fromkeys(self.decoders, 0.0)
        for part_predictions, part_samples, part_seconds in parts:
            for name in self.decoders:
                predictions[name].update(part_predictions[name])
                seconds[name] += part_seconds[name]
            samples.update(part_samples)
        return predictions, samples, seconds

    def _finish(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        by_decoder, samples, seconds = self._gather()
        self.predictions, self.samples = {name: {} for name in self.decoders}, {}
        self.metrics = {}
        for rank, (name, decoder) in enumerate(self.decoders.items()):
            predictions = by_decoder[name]
            prefix, out_dir = ("", self.out_dir) if rank == 0 else (f"{name}/", self.out_dir / name)
            indices = sorted(predictions)
            requests = [self.requests[i] for i in indices]
            scores = self.task.evaluate(requests, [predictions[i] for i in indices], out_dir)
            self.metrics.update({f"{prefix}{k}": float(v) for k, v in scores.items()})
            if self.identity_baseline:
                baseline = self.task.evaluate(requests, decoder([r.source for r in requests], requests),
                                              out_dir / "identity")
                self.metrics.update({f"{prefix}identity/{k}": float(v) for k, v in baseline.items()})
            self.ms_per_image[name] = 1000.0 * seconds[name] / max(len(predictions), 1)
        if trainer.is_global_zero:
            self.write_report(samples, by_decoder[next(iter(self.decoders))])
        pl_module.log_dict(self.metrics, sync_dist=False)

    def write_report(self, samples: dict[int, np.ndarray], predictions: dict[int, Any]) -> None:
        """metrics.json and grid.png in ``out_dir`` (the metric table is printed by the caller, idiff.console)."""
        atomic_write_json(self.out_dir / "metrics.json", {
            **self.metadata, "num_requests": len(predictions), "decoders": list(self.decoders),
            "decode_ms_per_image": self.ms_per_image, "metrics": self.metrics,
        })
        rows = []
        for index in sorted(samples)[: self.grid_rows]:
            request = self.requests[index]
            target = request.target if request.target is not None else np.zeros_like(request.source)
            rows.append([request.source, target, samples[index], self.task.render(request, predictions[index])])
        if rows:
            atomic_write_png(self.out_dir / "grid.png", image_grid(rows))

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finish(trainer, pl_module)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._finish(trainer, pl_module)
