"""Reading generated images with a decoder: the task's analytic ``decode`` or a trained U-Net, batch by batch.

Both are *batch decoders*: ``decoder(images, requests) -> predictions``, one prediction per (generated uint8
image, request), of the type :meth:`idiff.tasks.api.Task.decode` returns, so the task's evaluator scores either.
:func:`evaluation_decoders` turns ``decoder=analytic|learned|both`` into the decoders that
:class:`idiff.evaluation.TaskEvaluation` runs on the same generations; the first one is the run's main result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from idiff.decoders.module import DecoderModule
from idiff.decoders.training import CHECKPOINT_NAME, learned_decoding_of
from idiff.errors import ConfigError
from idiff.tasks.api import EditRequest, LearnedDecoding, Task

__all__ = ["AnalyticDecoder", "BatchDecoder", "LearnedDecoder", "load_decoder", "resolve_decoder_checkpoint",
           "evaluation_decoders"]

#: ``decoder(images, requests) -> predictions``.
BatchDecoder = Callable[[Sequence[np.ndarray], Sequence[EditRequest]], list[Any]]

DECODER_CHOICES = ("analytic", "learned", "both")


class AnalyticDecoder:
    """The task's own :meth:`~idiff.tasks.api.Task.decode`, image by image."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def __call__(self, images: Sequence[np.ndarray], requests: Sequence[EditRequest]) -> list[Any]:
        return [self.task.decode(image, request) for image, request in zip(images, requests, strict=True)]


def _batch(images: Sequence[np.ndarray], size: int) -> torch.Tensor:
    x = torch.from_numpy(np.stack([np.asarray(i, np.uint8)[..., :3] for i in images])).permute(0, 3, 1, 2)
    x = x.float() / 255.0
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False) if x.shape[-1] != size else x


class LearnedDecoder:
    """A trained :class:`DecoderModule` and the task's :class:`LearnedDecoding` that reads its maps.

    Images are resized to the decoder's training resolution when they differ, and its maps back to each request's
    source size.
    """

    def __init__(self, module: DecoderModule, decoding: LearnedDecoding, batch_size: int = 64) -> None:
        self.module = module.eval()
        self.decoding = decoding
        self.batch_size = batch_size

    @torch.no_grad()
    def maps(self, images: Sequence[np.ndarray], sources: Sequence[np.ndarray]) -> np.ndarray:
        """The decoder's float32 maps (N, C, H, W) in [0, 1] at the sources' size."""
        size = int(self.module.hparams["resolution"])
        out = []
        for start in range(0, len(images), self.batch_size):
            generated = _batch(images[start : start + self.batch_size], size)
            source = _batch(sources[start : start + self.batch_size], size)
            maps = self.module.maps(generated, source)
            height, width = np.asarray(sources[start]).shape[:2]
            if maps.shape[-2:] != (height, width):
                maps = F.interpolate(maps, size=(height, width), mode="bilinear", align_corners=False)
            out.append(maps.float().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.decoding.channels, 1, 1), np.float32)

    def __call__(self, images: Sequence[np.ndarray], requests: Sequence[EditRequest]) -> list[Any]:
        maps = self.maps(images, [r.source for r in requests])
        return [self.decoding.read(m, r) for m, r in zip(maps, requests, strict=True)]


def _checkpoint_task(path: Path) -> dict[str, Any]:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - report unreadable / unsafe files in one line
        raise ConfigError(f"{path}: cannot load as a weights-only checkpoint: {type(err).__name__}: {err}") from err
    hparams = checkpoint.get("hyper_parameters") or {}
    if "state_dict" not in checkpoint or "channels" not in hparams or "task" not in hparams:
        raise ConfigError(f"{path}: not a decoder checkpoint of `idiff fit stage=decoder` (hyper_parameters "
                          "without task / channels)")
    return checkpoint


def resolve_decoder_checkpoint(value: str | None, runs_dir: str | Path, task_name: str) -> Path:
    """``decoder.checkpoint``: ``latest`` (the newest decoder run of ``task_name`` under ``<runs_dir>/fit``), or a
    path."""
    if value not in (None, "", "latest"):
        path = Path(str(value))
        if not path.is_file():
            raise ConfigError(f"decoder.checkpoint={value}: no such file (allowed: latest, or a decoder.ckpt path)")
        return path.resolve()
    pattern = f"fit/*/checkpoints/{CHECKPOINT_NAME}.ckpt"
    for path in sorted(Path(runs_dir).glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            if _checkpoint_task(path)["hyper_parameters"]["task"] == task_name:
                return path.resolve()
        except ConfigError as err:
            print(f"idiff: warning: {err}; passed over", file=sys.stderr)
    raise ConfigError(f"decoder.checkpoint=latest: no decoder run of task {task_name!r} under "
                      f"{Path(runs_dir) / 'fit'}; "
                      f"run `idiff fit stage=decoder task={task_name}` first, or pass decoder.checkpoint=<path>")


def load_decoder(path: str | Path, task: Task, task_name: str, batch_size: int = 64) -> LearnedDecoder:
    """A :class:`LearnedDecoder` from a ``decoder.ckpt``, checked to be one of ``task_name`` with its channels."""
    path = Path(path)
    checkpoint = _checkpoint_task(path)
    hparams = dict(checkpoint["hyper_parameters"])
    decoding = learned_decoding_of(task, task_name)
    if hparams["task"] != task_name or int(hparams["channels"]) != decoding.channels:
        raise ConfigError(f"{path}: a decoder of task {hparams['task']!r} with {hparams['channels']} maps; task "
                          f"{task_name!r} needs {decoding.channels}")
    network = dict(hparams.get("network") or {})
    network["backbone_weights"] = None  # the checkpoint holds every weight; the backbone file may be gone
    hparams["network"] = network
    module = DecoderModule(**hparams)
    module.load_state_dict(checkpoint["state_dict"])
    return LearnedDecoder(module, decoding, batch_size)


def evaluation_decoders(choice: str, task: Task, task_name: str, checkpoint: str | None, runs_dir: str | Path,
                  batch_size: int = 64) -> tuple[dict[str, BatchDecoder], Path | None]:
    """The decoders of ``decoder.name`` (first = the run's main result) and the learned one's checkpoint, if any."""
    if choice not in DECODER_CHOICES:
        raise ConfigError(f"decoder={choice}: allowed: {', '.join(DECODER_CHOICES)}")
    decoders: dict[str, BatchDecoder] = {}
    path = None
    if choice != "analytic":
        learned_decoding_of(task, task_name)  # a task without one says so before any checkpoint is looked for
    if choice == "learned":
        path = resolve_decoder_checkpoint(checkpoint, runs_dir, task_name)
        return {"learned": load_decoder(path, task, task_name, batch_size)}, path
    decoders["analytic"] = AnalyticDecoder(task)
    if choice == "both":
        path = resolve_decoder_checkpoint(checkpoint, runs_dir, task_name)
        decoders["learned"] = load_decoder(path, task, task_name, batch_size)
    return decoders, path
