"""The plain functions behind the CLI verbs: ``fit``, ``evaluate`` (validate / test) and ``predict``.

Each takes a composed config and a run directory, so tests call them without Hydra's runtime
(lightning-hydra-template's ``train(cfg)``). Data flows top to bottom: tasks -> mixture -> module -> trainer.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import hydra.utils
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from omegaconf import DictConfig, OmegaConf

from idiff.checkpoint_io import AtomicCheckpointIO
from idiff.checkpoints import find_latest_checkpoint, load_module, resolve_checkpoint
from idiff.data.datamodule import MixtureDataModule, RequestDataModule
from idiff.data.error_policy import report_skips
from idiff.errors import ConfigError
from idiff.evaluation import TaskEvaluation
from idiff.files import atomic_write_bytes
from idiff.module import DiffusionModule
from idiff.preflight import check_free_space, check_resolution, check_writable, checkpoint_bytes
from idiff.tasks.api import Task
from idiff.tasks.factory import build_task

__all__ = ["evaluate", "fit"]


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def _trainer(cfg: DictConfig, run_dir: Path, **overrides: Any) -> L.Trainer:
    """The configured Trainer; ``overrides`` are objects (callbacks, loggers) or plain trainer arguments."""
    return hydra.utils.instantiate(cfg.trainer, default_root_dir=str(run_dir), _convert_="all", **overrides)


def _check_resolution(cfg: DictConfig, module: DiffusionModule) -> None:
    check_resolution(cfg.model.resolution,
                     module.codec.downsample_factor * 2 ** (len(module.unet.config.block_out_channels) - 1))


def mixture_tasks(cfg: DictConfig) -> dict[str, Task]:
    """The tasks of ``data.mixture``, each configured by ``data.tasks.<name>`` and, for the selected task, ``task``."""
    return {name: build_task(name, cfg) for name in cfg.data.mixture}


def fit(cfg: DictConfig, run_dir: Path) -> Path:
    """Train on the task mixture; returns the path of the last checkpoint."""
    L.seed_everything(cfg.seed, workers=True)
    check_writable(run_dir)
    atomic_write_bytes(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True).encode())
    ckpt_path = _resume_path(cfg)  # before this run writes a checkpoint of its own
    module = DiffusionModule(_plain(cfg.model), _plain(cfg.stage), _plain(cfg.sampler), seed=cfg.seed)
    _check_resolution(cfg, module)
    ema = sum(p.numel() for p in module.ema.shadow_params) if module.ema is not None else 0
    check_free_space(run_dir, 2 * checkpoint_bytes(module, ema))
    tasks = mixture_tasks(cfg)
    datamodule = MixtureDataModule(tasks, _plain(cfg.data.mixture), cfg.data.batch_size, cfg.data.num_workers, cfg.seed)
    checkpoints = ModelCheckpoint(
        dirpath=run_dir / "checkpoints", save_last=True, save_top_k=0,
        every_n_train_steps=cfg.checkpoint.every_n_train_steps,
    )
    trainer = _trainer(cfg, run_dir, callbacks=[checkpoints], logger=CSVLogger(str(run_dir), name="logs", version=""),
                       plugins=[AtomicCheckpointIO()])
    # Lightning warns that a mid-epoch resume is unreliable for a loader without state_dict; ours resumes from the
    # step count (MixtureDataModule.resume_point), which tests/test_kill_resume.py checks bit for bit.
    warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    last = run_dir / "checkpoints" / "last.ckpt"
    trainer.save_checkpoint(last)  # every rank: Lightning writes on rank 0 behind a barrier
    if trainer.is_global_zero:
        print(f"fit: {trainer.global_step} steps in {time.perf_counter() - started:.0f} s; checkpoint {last}")
        _report_skips(tasks, run_dir)
    return last


def _resume_path(cfg: DictConfig) -> str | None:
    """The checkpoint ``resume`` names: None, the newest complete ``last.ckpt`` (``auto``) or a path."""
    match cfg.get("resume"):
        case None | "":
            return None
        case "auto":
            latest = find_latest_checkpoint(cfg.paths.runs_dir)
            print(f"fit: resume=auto: {f'resuming from {latest}' if latest else 'no checkpoint yet, starting fresh'}")
            return str(latest) if latest else None
        case path:
            if not Path(path).is_file():
                raise ConfigError(f"resume={path}: no such file (allowed: null, auto, or a checkpoint path)")
            return str(path)


def _report_skips(tasks: dict[str, Task], run_dir: Path) -> None:
    report = report_skips({name: task.context.errors for name, task in tasks.items()}, run_dir)
    if report:
        print(report)


def evaluate(cfg: DictConfig, run_dir: Path, command: str = "test") -> dict[str, float]:
    """Generate for the selected task's requests, decode, score; writes metrics.json and grid.png to run_dir."""
    L.seed_everything(cfg.seed, workers=True)
    checkpoint = resolve_checkpoint(cfg.ckpt, cfg.paths.runs_dir)
    module = load_module(checkpoint)
    module.hparams["sampler"] = _plain(cfg.sampler)
    module.hparams["seed"] = cfg.seed
    if cfg.sampler.use_ema:
        module.use_ema_weights()
    task = build_task(cfg.task_name, cfg, resolution=module.hparams["model"]["resolution"])
    task.prepare_data()
    requests = task.test_requests()
    task.context.errors.require(len(requests), f"task {cfg.task_name!r}: test requests from {task.data_dir}")
    metadata = {"task": cfg.task_name, "checkpoint": str(checkpoint), "sampler": _plain(cfg.sampler),
                "guidance": {"text": task.config.guidance.text, "image": task.config.guidance.image},
                "skipped_records": task.context.errors.count}
    evaluation = TaskEvaluation(task, requests, run_dir, metadata=metadata)
    datamodule = RequestDataModule(requests, task.config.guidance.text, task.config.guidance.image,
                                   cfg.data.eval_batch_size)
    trainer = _trainer(cfg, run_dir, callbacks=[evaluation], logger=False, limit_val_batches=None)
    print(f"{command}: {len(requests)} requests of task {cfg.task_name!r} with checkpoint {checkpoint}")
    run = trainer.validate if command == "validate" else trainer.test
    run(module, datamodule=datamodule, verbose=True)
    print(f"{command}: metrics, predictions and grid.png written to {run_dir}")
    _report_skips({cfg.task_name: task}, run_dir)
    return evaluation.metrics


def predict(cfg: DictConfig, run_dir: Path) -> list[Path]:
    """Edit the images named by ``input`` following ``instruction``; writes PNGs to ``<run_dir>/predictions``."""
    from idiff.data.images import load_inputs
    from idiff.data.mixture import tensor_to_images
    from idiff.files import atomic_write_png
    from idiff.tasks.api import EditRequest

    if not cfg.get("instruction"):
        raise ConfigError('predict needs instruction="..." (the edit to make)')
    checkpoint = resolve_checkpoint(cfg.ckpt, cfg.paths.runs_dir)
    module = load_module(checkpoint)
    module.hparams["sampler"] = _plain(cfg.sampler)
    if cfg.sampler.use_ema:
        module.use_ema_weights()
    inputs = load_inputs(cfg.get("input"), module.hparams["model"]["resolution"])
    requests = [EditRequest(source=image, instruction=cfg.instruction, meta={"path": str(p)}) for p, image in inputs]
    datamodule = RequestDataModule(requests, cfg.task.guidance.text, cfg.task.guidance.image, cfg.data.eval_batch_size)
    trainer = _trainer(cfg, run_dir, logger=False)
    batches = trainer.predict(module, datamodule=datamodule)
    images = [image for batch in batches for image in tensor_to_images(batch)]
    written = []
    for (path, _), image in zip(inputs, images, strict=True):
        written.append(atomic_write_png(run_dir / "predictions" / f"{Path(path).stem}.png", image))
    print(f"predict: {len(written)} images written to {run_dir / 'predictions'}")
    return written
