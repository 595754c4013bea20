"""``idiff predict`` and the app's model: load once, generate, decode, write the outputs of every input image.

Generation calls the module's ``predict_step`` batch by batch, exactly as Lightning's predict loop would (same
batches, same per-batch noise generator seeded with ``seed`` and the batch index), without a Trainer, so the app can
call it from its worker threads. Outputs of a run (``<run dir>/``):

- ``predictions/<name>.png``: the generated image (``<name>_<k>.png`` when a request needs several instructions);
- ``overlays/<name>.png``: the task's decoded result drawn over the source (structured requests only);
- the task's files in its field's format (:meth:`idiff.tasks.api.Task.write_predictions`);
- ``predictions.json``: checkpoint, guidance, seed and, per request, the input, instruction and files.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from idiff.checkpoints import load_module, resolve_checkpoint
from idiff.data.datamodule import RequestDataset
from idiff.data.mixture import tensor_to_images
from idiff.errors import ConfigError
from idiff.files import atomic_write_json, atomic_write_png
from idiff.module import DiffusionModule
from idiff.prediction.inputs import read_inputs
from idiff.prediction.requests import build_requests, guidance_scales, parse_request
from idiff.tasks.api import EditRequest, GuidanceScales, Task
from idiff.tasks.factory import build_task
from idiff.tasks.registry import TaskRegistry

__all__ = ["Prediction", "Predictor", "load_inference_module", "predict"]


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def _diffusers_module(cfg: DictConfig, folder: Path) -> DiffusionModule:
    """A module whose UNet, VAE, text encoder and tokenizer come from a diffusers pipeline folder."""
    if cfg.model.codec.kind != "autoencoder_kl":
        raise ConfigError(
            f"ckpt={folder}: a diffusers folder is read with model=sd15 (its vae/ is the codec); "
            f"the configured model.codec.kind is {cfg.model.codec.kind!r}"
        )
    model = {**_plain(cfg.model), "pretrained_path": str(folder)}
    stage = {**_plain(cfg.stage), "ema_decay": None}  # nothing to average: the folder holds the weights to use
    return DiffusionModule(model, stage, _plain(cfg.sampler), seed=int(cfg.seed))


ALLOWED_CKPT = ("latest, reference, a .ckpt / .safetensors file, a fit run directory (its checkpoints/last.ckpt) "
                "or a diffusers pipeline folder (unet/ vae/ text_encoder/ tokenizer/)")


def _checkpoint_path(cfg: DictConfig) -> Path | None:
    """The checkpoint file ``ckpt`` names; None when it names a diffusers pipeline folder."""
    ckpt = cfg.get("ckpt")
    if ckpt in (None, "", "latest", "reference"):
        return resolve_checkpoint(ckpt, cfg.paths.runs_dir)
    path = Path(str(ckpt))
    if path.is_file():
        return path.resolve()
    for inside in (path / "checkpoints" / "last.ckpt", path / "last.ckpt"):  # a fit run directory
        if inside.is_file():
            return inside.resolve()
    if (path / "unet").is_dir() or (path / "model_index.json").is_file():
        return None
    what = "is neither a run directory nor a diffusers folder" if path.is_dir() else "no such file or folder"
    raise ConfigError(f"ckpt={ckpt}: {what} (allowed: {ALLOWED_CKPT})")


def load_inference_module(cfg: DictConfig) -> tuple[DiffusionModule, str]:
    """The model ``ckpt`` names (``ALLOWED_CKPT``) and where it came from.

    The sampler settings and the seed are the run's, not the checkpoint's; with ``sampler.use_ema`` the EMA weights
    replace the UNet's, and a checkpoint of a fit with ``stage.wise_ft`` generates with WiSE-FT's average (alpha
    ``wise_ft``, or the fit's when null).
    """
    checkpoint = _checkpoint_path(cfg)
    if checkpoint is None:
        folder = Path(str(cfg.ckpt)).resolve()
        module, where = _diffusers_module(cfg, folder), str(folder)
    else:
        module, where = load_module(checkpoint), str(checkpoint)
    module.hparams["sampler"] = _plain(cfg.sampler)
    module.hparams["seed"] = int(cfg.seed)
    module.use_inference_weights(cfg.sampler.use_ema, cfg.get("wise_ft"))
    return module.eval(), where


def _device(accelerator: str | None) -> torch.device:
    if accelerator in (None, "auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def _name(request: EditRequest) -> str:
    """The output name of the request's input image."""
    return request.origin.name if request.origin is not None else "image"


@dataclasses.dataclass
class Prediction:
    """The answer to a list of requests: generated images, decoded predictions (with a task) and the scales."""

    requests: list[EditRequest]
    images: list[np.ndarray]
    scales: GuidanceScales
    task: Task | None = None
    predictions: list[Any] | None = None

    def overlays(self) -> dict[str, np.ndarray]:
        """Per input name, every request's decoded result drawn over the source in turn (``Task.render``)."""
        if self.task is None or self.predictions is None:
            return {}
        canvases: dict[str, np.ndarray] = {}
        for request, prediction in zip(self.requests, self.predictions, strict=True):
            name = _name(request)
            canvas = canvases.get(name, request.source)
            canvases[name] = self.task.render(dataclasses.replace(request, source=canvas), prediction)
        return canvases


class Predictor:
    """A loaded model, ready to answer requests on user images.

    Args:
        cfg: the composed config (``ckpt``, ``sampler``, ``seed``, ``data.eval_batch_size``, tasks' options).
        progress: show a progress bar while generating.
    """

    def __init__(self, cfg: DictConfig, progress: bool = True) -> None:
        self.cfg = cfg
        self.module, self.checkpoint = load_inference_module(cfg)
        self.device = _device(cfg.trainer.get("accelerator"))
        self.module.to(self.device)
        self.resolution = int(self.module.hparams["model"]["resolution"])
        self.batch_size = int(cfg.data.eval_batch_size)
        self.progress = progress
        self._tasks: dict[str, Task] = {}

    def task(self, name: str) -> Task:
        """Task ``name`` at the model's resolution, configured by the run (``task.*`` or ``data.tasks.<name>``)."""
        if name not in self._tasks:
            self._tasks[name] = build_task(name, self.cfg, resolution=self.resolution)
        return self._tasks[name]

    def generate(
        self, requests: list[EditRequest], scales: GuidanceScales, on_batch: Callable[[int, int], None] | None = None
    ) -> list[np.ndarray]:
        """Generated uint8 (R, R, 3) images, one per request, in batches of ``data.eval_batch_size``."""
        dataset = RequestDataset(requests, scales.text, scales.image)
        images: list[np.ndarray] = []
        with torch.inference_mode(), tqdm(total=len(requests), desc="predict", unit="image",
                                          disable=not self.progress) as bar:
            for index, start in enumerate(range(0, len(requests), self.batch_size)):
                batch = dataset.collate([dataset[i] for i in range(start, min(start + self.batch_size, len(requests)))])
                batch = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
                images.extend(tensor_to_images(self.module.predict_step(batch, index).float().cpu()))
                bar.update(len(batch["instruction"]))
                if on_batch is not None:
                    on_batch(len(images), len(requests))
        return images

    def answer(self, requests: list[EditRequest], scales: GuidanceScales, task: Task | None = None,
               on_batch: Callable[[int, int], None] | None = None) -> Prediction:
        """Generate for ``requests``; with ``task`` (a structured request) decode every image too."""
        images = self.generate(requests, scales, on_batch)
        predictions = None
        if task is not None:
            predictions = [task.decode(image, request) for image, request in zip(images, requests, strict=True)]
        return Prediction(requests, images, scales, task, predictions)

    def write(self, out_dir: Path, result: Prediction) -> list[Path]:
        """Write the outputs listed in the module docstring; returns every file written."""
        out_dir = Path(out_dir)
        counts = Counter(_name(request) for request in result.requests)
        seen: dict[str, int] = {}
        written, records = [], []
        for request, image in zip(result.requests, result.images, strict=True):
            name = _name(request)
            k = seen[name] = seen.get(name, -1) + 1
            file_name = f"{name}_{k}.png" if counts[name] > 1 else f"{name}.png"
            path = atomic_write_png(out_dir / "predictions" / file_name, image)
            written.append(path)
            records.append({"input": request.origin.path if request.origin else None, "name": name,
                            "instruction": request.instruction, "generated": str(path.relative_to(out_dir))})
        for name, overlay in result.overlays().items():
            written.append(atomic_write_png(out_dir / "overlays" / f"{name}.png", overlay))
        if result.task is not None and result.predictions is not None:
            written.extend(result.task.write_predictions(result.requests, result.predictions, out_dir))
        manifest = {"checkpoint": self.checkpoint, "seed": int(self.cfg.seed),
                    "guidance": {"text": result.scales.text, "image": result.scales.image},
                    "sampler": _plain(self.cfg.sampler), "requests": records}
        written.append(atomic_write_json(out_dir / "predictions.json", manifest))
        return written


def predict(cfg: DictConfig, run_dir: Path) -> list[Path]:
    """``idiff predict``: answer ``instruction`` or ``task=<name> request.*`` on the images of ``input``."""
    started = time.perf_counter()
    options = _plain(cfg.get("request")) or {}
    request = parse_request(cfg.task_name, TaskRegistry().load(cfg.task_name).Request if options else None, options)
    build_requests([], cfg.get("instruction"), None, request)  # a missing or doubled question fails before loading
    predictor = Predictor(cfg, progress=bool(cfg.trainer.get("enable_progress_bar", True)))
    task = predictor.task(cfg.task_name) if request is not None else None
    inputs = read_inputs(cfg.get("input"), predictor.resolution)
    requests = build_requests(inputs, cfg.get("instruction"), task, request)
    scales = guidance_scales(_plain(cfg.get("guidance")), task.config.guidance if task else None)
    result = predictor.answer(requests, scales, task)
    written = predictor.write(run_dir, result)
    print(
        f"predict: {len(inputs)} images, {len(requests)} requests, guidance text {scales.text:g} / image "
        f"{scales.image:g}, {time.perf_counter() - started:.0f} s; outputs in {run_dir}"
    )
    return written
