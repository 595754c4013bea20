"""``idiff align generate``: sample every benchmark image under a grid of guidance settings for people to pick from.

PAPER.md "Model and training", stage 3: each benchmark image is sampled with 20 different guidance settings
(``stage.generate.text_scales`` x ``stage.generate.image_scales``, 5 x 4 by default). The benchmark is the selected
task's test requests (``task=``), or ``input=`` images with one ``instruction=``. Everything lands in
``stage.generate.out_dir`` (default: the run directory)::

    candidates.jsonl                  one record per image (format: :mod:`idiff.alignment.picks`)
    sources/<image>.png               the source image
    candidates/<image>/<k>.png        candidate k (k-th setting of the grid)

All candidates of one image share one seed, so they differ by their guidance only; each is generated from its own
generator, so any one of them can be reproduced alone. Every PNG and the JSONL are written atomically after each
image: an interrupted run resumes where it stopped when run again with the same ``stage.generate.out_dir``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from idiff.alignment.picks import read_candidates
from idiff.checkpoints import load_module, resolve_checkpoint
from idiff.data.images import load_inputs
from idiff.data.mixture import images_to_tensor, tensor_to_images
from idiff.diffusion.training_noise import sample_seed
from idiff.errors import ConfigError
from idiff.files import atomic_write_bytes, atomic_write_png
from idiff.tasks.api import EditRequest
from idiff.tasks.factory import build_task

__all__ = ["CANDIDATES_FILE", "benchmark_requests", "generate_candidates", "guidance_grid"]

CANDIDATES_FILE = "candidates.jsonl"


def guidance_grid(text_scales: list[float], image_scales: list[float]) -> list[tuple[float, float]]:
    """Every (text, image) scale pair, text-major."""
    if not text_scales or not image_scales:
        raise ConfigError("stage.generate.text_scales and stage.generate.image_scales must not be empty")
    for key, scales in (("text_scales", text_scales), ("image_scales", image_scales)):
        if not all(float(s) >= 0 for s in scales):  # also refuses NaN
            raise ConfigError(f"stage.generate.{key}={list(scales)}: guidance scales must be >= 0")
    return [(float(t), float(i)) for t, i in itertools.product(text_scales, image_scales)]


def benchmark_requests(cfg: DictConfig, resolution: int) -> list[EditRequest]:
    """``input=`` images with ``instruction=``, else the selected task's test requests; at most ``max_images``."""
    limit = int(cfg.stage.generate.max_images or 0)
    if cfg.get("input"):
        if not cfg.get("instruction"):
            raise ConfigError('align generate with input= needs instruction="..." (the edit to make)')
        requests = [EditRequest(source=image, instruction=cfg.instruction, meta={"path": str(path)})
                    for path, image in load_inputs(cfg.input, resolution)]
    else:
        task = build_task(cfg.task_name, cfg, resolution=resolution)
        task.prepare_data()
        requests = task.test_requests()
    return requests[:limit] if limit else requests


def _device(cfg: DictConfig) -> torch.device:
    wants_gpu = str(cfg.trainer.accelerator) in ("auto", "gpu", "cuda")
    return torch.device("cuda" if wants_gpu and torch.cuda.is_available() else "cpu")


def _write_records(path: Path, records: dict[str, dict[str, Any]]) -> None:
    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in records.values()).encode())


def generate_candidates(cfg: DictConfig, run_dir: Path) -> Path:
    """Write the candidates of every benchmark image; returns the path of ``candidates.jsonl``."""
    settings = cfg.stage.generate
    grid = guidance_grid(list(settings.text_scales), list(settings.image_scales))
    out_dir = Path(settings.out_dir) if settings.get("out_dir") else run_dir
    jsonl = out_dir / CANDIDATES_FILE
    records = read_candidates(jsonl) if jsonl.is_file() else {}

    checkpoint = resolve_checkpoint(cfg.ckpt, cfg.paths.runs_dir)
    module = load_module(checkpoint)
    module.hparams["sampler"] = OmegaConf.to_container(cfg.sampler, resolve=True)
    module.use_inference_weights(cfg.sampler.use_ema, cfg.get("wise_ft"))
    device = _device(cfg)
    module.to(device).eval()
    requests = benchmark_requests(cfg, module.hparams["model"]["resolution"])
    print(f"align generate: {len(requests)} images x {len(grid)} guidance settings with {checkpoint} -> {out_dir}"
          f" ({len(records)} images already there)")
    chunk = max(1, int(cfg.data.eval_batch_size))
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                and str(cfg.trainer.precision).startswith("bf16") else contextlib.nullcontext())
    for index, request in enumerate(requests):
        image = f"{index:06d}"
        if image in records:
            if records[image]["instruction"] != request.instruction:
                raise ConfigError(f"stage.generate.out_dir={out_dir}: image {image} of {jsonl} has another "
                                  "instruction; these are candidates of another benchmark (choose a new out_dir)")
            continue
        seed = sample_seed(cfg.seed, index)
        candidates = []
        for start in range(0, len(grid), chunk):
            part = grid[start : start + chunk]
            sources = images_to_tensor([request.source] * len(part)).to(device)
            scales = torch.tensor(part, device=device)[:, :, None, None, None]
            generators = [torch.Generator(device).manual_seed(seed) for _ in part]
            with autocast:
                generated = module.generate(sources, [request.instruction] * len(part), scales[:, 0], scales[:, 1],
                                            generator=generators)
            for k, ((text, image_scale), picture) in enumerate(zip(part, tensor_to_images(generated), strict=True)):
                relative = f"candidates/{image}/{start + k:02d}.png"
                atomic_write_png(out_dir / relative, picture)
                candidates.append({"path": relative, "text_scale": text, "image_scale": image_scale, "seed": seed})
        atomic_write_png(out_dir / "sources" / f"{image}.png", request.source)
        records[image] = {"image": image, "source": f"sources/{image}.png", "instruction": request.instruction,
                          "candidates": candidates}
        _write_records(jsonl, records)
    print(f"align generate: {len(records)} images in {jsonl}")
    return jsonl
