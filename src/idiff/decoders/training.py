"""``idiff fit stage=decoder task=<name>``: train a task's learned decoder and write ``checkpoints/decoder.ckpt``.

The samples are the task's :meth:`~idiff.tasks.api.LearnedDecoding.train_dataset` (its train split, encoded, with
label maps); :class:`~idiff.decoders.module.DecoderModule` degrades them like generated images. The checkpoint is
named ``decoder.ckpt``, not ``last.ckpt``, so ``ckpt=latest`` (the newest diffusion run) never picks a decoder;
``decoder.checkpoint=latest`` at test time finds the newest decoder run of the task (:mod:`idiff.decoders.learned`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import hydra.utils
import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from idiff.checkpoint_io import AtomicCheckpointIO
from idiff.decoders.module import DecoderModule
from idiff.errors import ConfigError
from idiff.files import atomic_write_bytes
from idiff.preflight import check_writable
from idiff.stages import stage_trainer_arguments
from idiff.tasks.api import DecoderSample, LearnedDecoding, Task
from idiff.tasks.factory import build_task
from idiff.tasks.registry import TaskRegistry

__all__ = ["CHECKPOINT_NAME", "collate_decoder_samples", "fit_decoder", "learned_decoding_of"]

#: File name (without ``.ckpt``) of a decoder run's checkpoint under ``checkpoints/``.
CHECKPOINT_NAME = "decoder"


def learned_decoding_of(task: Task, name: str) -> LearnedDecoding:
    """The task's :class:`LearnedDecoding`, or a ConfigError saying the task has none."""
    decoding = task.learned_decoding()
    if decoding is None:
        raise ConfigError(f"task {name!r} has no learned decoder (its learned_decoding() returns None); "
                          "use decoder=analytic, or a task with one (keypoints, referring_segmentation)")
    return decoding


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(image, np.float32)).permute(2, 0, 1) / 255.0


def collate_decoder_samples(samples: list[DecoderSample]) -> dict[str, torch.Tensor]:
    """Batch :class:`DecoderSample` items: ``source``, ``target`` (B, 3, R, R) in [0, 1], ``label`` (B, C, R, R)."""
    return {
        "source": torch.stack([_to_tensor(s.source) for s in samples]),
        "target": torch.stack([_to_tensor(s.target) for s in samples]),
        "label": torch.stack([torch.from_numpy(np.asarray(s.label, np.float32)) for s in samples]),
    }


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def build_decoder_module(cfg: DictConfig, task_name: str, decoding: LearnedDecoding) -> DecoderModule:
    """A fresh decoder for ``task_name`` from ``stage`` (backbone, widths, degradation, optimizer, loss weight)."""
    stage = cfg.stage
    network = {"backbone": stage.backbone, "widths": list(stage.widths), "backbone_weights": stage.backbone_weights}
    return DecoderModule(task_name, decoding.channels, int(cfg.model.resolution), network,
                         _plain(stage.degradation), _plain(stage.optimizer), float(stage.positive_weight),
                         int(cfg.seed))


def fit_decoder(cfg: DictConfig, run_dir: Path, registry: TaskRegistry | None = None) -> Path:
    """Train the selected task's learned decoder; returns ``<run_dir>/checkpoints/decoder.ckpt``."""
    name = cfg.task_name
    L.seed_everything(cfg.seed, workers=True)
    check_writable(run_dir)
    atomic_write_bytes(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True).encode())
    task = build_task(name, cfg, resolution=cfg.model.resolution, registry=registry)
    decoding = learned_decoding_of(task, name)
    task.prepare_data()
    dataset = decoding.train_dataset()
    if len(dataset) == 0:
        raise ConfigError(f"task {name!r}: no training samples for the decoder under {task.data_dir}")
    batch_size = int(cfg.stage.batch_size)
    # whole batches only: batch norm cannot train on a last batch of one
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=len(dataset) >= batch_size,
                        num_workers=int(cfg.data.num_workers), collate_fn=collate_decoder_samples,
                        generator=torch.Generator().manual_seed(int(cfg.seed)))
    module = build_decoder_module(cfg, name, decoding)
    checkpoints = ModelCheckpoint(dirpath=run_dir / "checkpoints", save_last=True, save_top_k=0,
                                  every_n_train_steps=cfg.checkpoint.every_n_train_steps)
    checkpoints.CHECKPOINT_NAME_LAST = CHECKPOINT_NAME
    trainer = hydra.utils.instantiate(
        cfg.trainer, default_root_dir=str(run_dir), _convert_="all", callbacks=[checkpoints],
        logger=CSVLogger(str(run_dir), name="logs", version=""), plugins=[AtomicCheckpointIO()],
        **stage_trainer_arguments(cfg),
    )
    parameters = sum(p.numel() for p in module.parameters())
    print(f"fit: stage decoder, task {name!r}, {cfg.stage.backbone} U-Net ({parameters / 1e6:.2f} M parameters, "
          f"{decoding.channels} maps), batch {cfg.stage.batch_size}, {len(dataset)} training items")
    started = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    last = run_dir / "checkpoints" / f"{CHECKPOINT_NAME}.ckpt"
    trainer.save_checkpoint(last)
    seconds = time.perf_counter() - started
    print(f"fit: {trainer.global_step} decoder steps in {seconds:.0f} s; checkpoint {last}")
    return last
