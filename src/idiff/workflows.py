"""The plain functions behind the CLI verbs: ``fit``, ``evaluate`` (validate / test) and ``predict``.

Each takes a composed config and a run directory, so tests call them without Hydra's runtime
(lightning-hydra-template's ``train(cfg)``). Data flows top to bottom: tasks -> mixture -> module -> trainer.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hydra.utils
import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from idiff.batching import describe_batch
from idiff.checkpoint_io import AtomicCheckpointIO
from idiff.checkpoints import find_latest_checkpoint, init_weights, load_module, resolve_checkpoint
from idiff.console import print_metric_table
from idiff.data.datamodule import RequestDataModule
from idiff.data.error_policy import report_skips
from idiff.decoders.learned import evaluation_decoders
from idiff.decoders.training import fit_decoder
from idiff.diffusion.lr_schedule import check_resumed_schedule, describe_lr_schedule
from idiff.errors import ConfigError
from idiff.evaluation import TaskEvaluation
from idiff.files import atomic_write_bytes
from idiff.module import DiffusionModule
from idiff.preflight import check_free_space, check_resolution, check_writable, checkpoint_bytes
from idiff.pretrained import PretrainedSource
from idiff.progress import StepBoundedProgressBar
from idiff.stages import mixture_tasks, stage_trainer_arguments, training_data
from idiff.strategies import check_strategy
from idiff.tasks.api import Task
from idiff.tasks.factory import build_task
from idiff.tasks.registry import TaskRegistry

__all__ = ["evaluate", "fit", "mixture_tasks"]


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def _trainer(cfg: DictConfig, run_dir: Path, **overrides: Any) -> L.Trainer:
    """The configured Trainer; ``overrides`` are objects (callbacks, loggers) or plain trainer arguments."""
    if cfg.trainer.get("enable_progress_bar", True) and importlib.util.find_spec("rich") is not None:
        overrides["callbacks"] = [*overrides.get("callbacks", []), StepBoundedProgressBar()]
    return hydra.utils.instantiate(cfg.trainer, default_root_dir=str(run_dir), _convert_="all", **overrides)


def _check_resolution(cfg: DictConfig, module: DiffusionModule) -> None:
    check_resolution(cfg.model.resolution,
                     module.codec.downsample_factor * 2 ** (len(module.unet.config.block_out_channels) - 1))


def fit(cfg: DictConfig, run_dir: Path, registry: TaskRegistry | None = None) -> Path:
    """Train the configured stage (:mod:`idiff.stages`); returns the path of the last checkpoint.

    ``registry`` finds the tasks (default: the installed plugins); tests pass one of hand-built entry points.
    ``stage=decoder`` trains the selected task's learned decoder instead (:mod:`idiff.decoders.training`).
    """
    if cfg.stage.name == "decoder":
        return fit_decoder(cfg, run_dir, registry)
    batch = describe_batch(cfg)
    check_strategy(cfg)
    L.seed_everything(cfg.seed, workers=True)
    check_writable(run_dir)
    atomic_write_bytes(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True).encode())
    ckpt_path = _resume_path(cfg)  # before this run writes a checkpoint of its own
    if ckpt_path:
        check_resumed_schedule(ckpt_path, cfg.stage.get("lr_scheduler"))
    module = DiffusionModule(_plain(cfg.model), _plain(cfg.stage), _plain(cfg.sampler), seed=cfg.seed)
    _check_resolution(cfg, module)
    if cfg.get("init_weights") and not ckpt_path:  # a resumed run gets every weight from its checkpoint
        start = resolve_checkpoint(cfg.init_weights, cfg.paths.runs_dir)
        init_weights(module, start)
        if rank_zero_only.rank == 0:
            print(f"fit: starting from the weights of {start} (init_weights={cfg.init_weights}; null: from scratch)")
    if module.wise_ft is not None and not ckpt_path:  # a resumed run has them in its checkpoint
        _check_wise_ft_start(cfg)
        module.keep_start_weights()
    ema = sum(p.numel() for p in module.ema.shadow_params) if module.ema is not None else 0
    start_bytes = sum(t.numel() * t.element_size() for t in (module.wise_ft_start or {}).values())
    check_free_space(run_dir, 2 * (checkpoint_bytes(module, ema) + start_bytes))
    datamodule = training_data(cfg, registry)
    checkpoints = ModelCheckpoint(
        dirpath=run_dir / "checkpoints", save_last=True, save_top_k=-1 if cfg.checkpoint.get("keep_all") else 0,
        filename="step-{step}", auto_insert_metric_name=False,  # no "=" in the name: ckpt=<path> needs no quoting
        every_n_train_steps=cfg.checkpoint.every_n_train_steps,
    )
    logger = CSVLogger(str(run_dir), name="logs", version="")  # logs/metrics.csv: the loss and the learning rate
    trainer = _trainer(cfg, run_dir, callbacks=[checkpoints, LearningRateMonitor("step")], logger=logger,
                       plugins=[AtomicCheckpointIO()], **stage_trainer_arguments(cfg))
    if rank_zero_only.rank == 0:  # from the environment: the trainer knows its rank only once fit starts
        print(f"fit: stage {cfg.stage.name}, {batch}")
        print(f"fit: {describe_lr_schedule(cfg.stage.optimizer.lr, cfg.stage.get('lr_scheduler'))}")
    # Lightning warns that a mid-epoch resume is unreliable for a loader without state_dict; ours resumes from the
    # step count (MixtureDataModule.resume_point), which tests/test_kill_resume.py checks bit for bit.
    warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    last = run_dir / "checkpoints" / "last.ckpt"
    # every rank: Lightning writes on rank 0 behind a barrier; a whole checkpoint (optimizer, loops), so resume= works
    trainer.save_checkpoint(last, weights_only=False)
    if trainer.is_global_zero:
        print(f"fit: {trainer.global_step} steps in {time.perf_counter() - started:.0f} s; checkpoint {last}")
        if cfg.stage.name == "task_specific":
            print(f"fit: score it with `idiff test task=<name>`, <name> one of: {', '.join(datamodule.tasks)}")
        _report_skips(datamodule.tasks, run_dir)
    return last


def _check_wise_ft_start(cfg: DictConfig) -> None:
    """``stage.wise_ft`` averages with the weights a fit starts from: they must be pretrained ones."""
    if not cfg.get("init_weights") and PretrainedSource.from_model_config(cfg.model) is None:
        raise ConfigError(
            f"stage.wise_ft={cfg.stage.wise_ft}: WiSE-FT averages the fine-tuned weights with those the fit starts "
            "from, but this fit starts from random ones (init_weights=null, no model.pretrained_path); set "
            "init_weights=<checkpoint> (or reference), or stage.wise_ft=null"
        )


def _resume_path(cfg: DictConfig) -> str | None:
    """The checkpoint ``resume`` names: None, the newest complete ``last.ckpt`` (``auto``) or a path."""
    match cfg.get("resume"):
        case None | "":
            return None
        case "auto":
            latest = find_latest_checkpoint(cfg.paths.runs_dir)
            if rank_zero_only.rank == 0:
                found = f"resuming from {latest}" if latest else "no checkpoint yet, starting fresh"
                print(f"fit: resume=auto: {found}")
            return str(latest) if latest else None
        case path:
            if not Path(path).is_file():
                raise ConfigError(f"resume={path}: no such file (allowed: null, auto, or a checkpoint path)")
            return str(path)


def _report_skips(tasks: Mapping[str, Task], run_dir: Path) -> None:
    policies = {name: task.context.errors for name, task in tasks.items() if hasattr(task, "context")}
    report = report_skips(policies, run_dir)
    if report:
        print(report)


def evaluate(
    cfg: DictConfig, run_dir: Path, command: str = "test", registry: TaskRegistry | None = None
) -> dict[str, float]:
    """Generate for the selected task's requests, decode, score; writes metrics.json and grid.png to run_dir.

    ``registry`` finds the task (default: the installed plugins).
    """
    L.seed_everything(cfg.seed, workers=True)
    checkpoint = resolve_checkpoint(cfg.ckpt, cfg.paths.runs_dir)
    module = load_module(checkpoint)
    module.hparams["sampler"] = _plain(cfg.sampler)
    module.hparams["seed"] = cfg.seed
    wise_ft = module.use_inference_weights(cfg.sampler.use_ema, cfg.get("wise_ft"))
    task = build_task(cfg.task_name, cfg, resolution=module.hparams["model"]["resolution"], registry=registry)
    task.prepare_data()
    requests = task.test_requests()
    task.context.errors.require(len(requests), f"task {cfg.task_name!r}: test requests from {task.data_dir}")
    metadata = {"task": cfg.task_name, "checkpoint": str(checkpoint), "sampler": _plain(cfg.sampler),
                "guidance": {"text": task.config.guidance.text, "image": task.config.guidance.image},
                "skipped_records": task.context.errors.count, "wise_ft": wise_ft}
    choice = cfg.decoder
    decoders, decoder_checkpoint = evaluation_decoders(choice.name, task, cfg.task_name, choice.checkpoint,
                                                       cfg.paths.runs_dir, choice.batch_size)
    metadata["decoder_checkpoint"] = str(decoder_checkpoint) if decoder_checkpoint else None
    evaluation = TaskEvaluation(task, requests, run_dir, metadata=metadata, decoders=decoders)
    datamodule = RequestDataModule(requests, task.config.guidance.text, task.config.guidance.image,
                                   cfg.data.eval_batch_size)
    trainer = _trainer(cfg, run_dir, callbacks=[evaluation], logger=False, limit_val_batches=None)
    average = "" if wise_ft is None else f" (WiSE-FT: averaged with its start weights, alpha {wise_ft})"
    print(f"{command}: {len(requests)} requests of task {cfg.task_name!r} with checkpoint {checkpoint}{average}")
    run = trainer.validate if command == "validate" else trainer.test
    run(module, datamodule=datamodule, verbose=False)
    if trainer.is_global_zero:
        names = list(evaluation.decoders)
        title = f"{command}: {cfg.task_name}, {len(requests)} requests, {' and '.join(names)} decoder"
        print_metric_table(evaluation.metrics, title + ("s" if len(names) > 1 else ""), names, evaluation.ms_per_image)
        print(f"{command}: metrics, predictions and grid.png written to {run_dir}")
    _report_skips({cfg.task_name: task}, run_dir)
    return evaluation.metrics


def predict(cfg: DictConfig, run_dir: Path) -> list[Path]:
    """Answer ``instruction`` or ``task=<name> request.*`` on the images of ``input``; see :mod:`idiff.prediction`."""
    from idiff.prediction.predictor import predict as run_predict

    return run_predict(cfg, run_dir)
