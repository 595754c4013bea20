"""Data throughput of the default fit: the data pipeline's samples/s against what training consumes.

Three measurements in one process, on the ``fit`` config (the embedded default unless overridden):

1. **loader**: the training DataLoader of ``idiff fit`` (synthetic datasets read from disk, each task's encoding
   of the labels into a target image, the mixture's draws, collation into a batch) iterated alone for ``--batches``
   batches after one warm-up batch (worker start-up), with ``data.num_workers`` as configured and with 0 and 1,
   after the cached batches of 3. have been drawn (so the dataset files are in the page cache for every setting);
2. **fit**: ``--steps`` real training steps of the default model (the configured Trainer: precision, gradient
   clipping) on that loader, samples/s after ``--warmup`` steps;
3. **fit, cached batches**: the same steps on batches drawn beforehand and kept in memory, i.e. the training step
   alone: what training consumes.

The ratio loader / consumption says how much faster the data arrives than training takes it (above 1: the loader is
not the bottleneck); (cached - fit) / cached is the share of a default fit's time spent waiting for data.

    python bench/data_throughput.py                    # the embedded default: batch 16, three-task mixture
    python bench/data_throughput.py --steps 20 data.num_workers=1

Trailing arguments are Hydra overrides of the ``fit`` config. Results: BENCHMARKS.md ("Data throughput").
"""

from __future__ import annotations

import argparse
import statistics
import time

import hydra.utils
import lightning as L
import torch
from _arguments import parse_known
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from idiff.cli import compose_config
from idiff.module import DiffusionModule
from idiff.stages import training_data


class StepTimes(L.Callback):
    """The wall-clock time at the end of each training batch."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.times.append(time.perf_counter())


def loader_rate(cfg, workers: int, batches: int) -> float:
    """Samples/s of the fit's training DataLoader with ``workers`` processes, after one warm-up batch."""
    datamodule = training_data(cfg)
    datamodule.num_workers = workers
    datamodule.prepare_data()
    datamodule.setup("fit")
    iterator = iter(datamodule.train_dataloader())
    next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    rate = batches * cfg.data.batch_size / (time.perf_counter() - started)
    del iterator  # stops the workers
    return rate


def cached_batches(cfg, count: int) -> list[dict]:
    """``count`` batches of the fit's loader, drawn now (what the datamodule hands the module: no ``skipped``)."""
    datamodule = training_data(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    iterator = iter(datamodule.train_dataloader())
    batches = [next(iterator) for _ in range(count)]
    for batch in batches:
        batch.pop("skipped", None)
    return batches


def fit_rate(cfg, data, steps: int, warmup: int) -> float:
    """Samples/s of ``steps`` training steps of a fresh default module on ``data`` (a datamodule or a loader)."""
    torch.manual_seed(cfg.seed)
    config = OmegaConf.to_container(cfg, resolve=True)
    module = DiffusionModule(config["model"], config["stage"], config["sampler"], seed=cfg.seed)
    timer = StepTimes()
    trainer = hydra.utils.instantiate(
        cfg.trainer, max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[timer], _convert_="all",
    )
    if isinstance(data, DataLoader):
        trainer.fit(module, train_dataloaders=data)
    else:
        trainer.fit(module, datamodule=data)
    times = timer.times[warmup:]
    return cfg.data.batch_size * (len(times) - 1) / (times[-1] - times[0])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=20, help="batches timed for each loader setting")
    parser.add_argument("--steps", type=int, default=12, help="training steps of each fit measurement")
    parser.add_argument("--warmup", type=int, default=2, help="first training steps left out of the rate")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of all measurements (medians)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the fit config")
    return parse_known(parser)


def main() -> None:
    args = parse_args()
    cfg = compose_config("fit", args.overrides)
    batch, default_workers = cfg.data.batch_size, cfg.data.num_workers
    cached = DataLoader(cached_batches(cfg, args.steps), batch_size=None, shuffle=False)  # also warms the file cache
    rates: dict[int, list[float]] = {w: [] for w in dict.fromkeys([default_workers, 0, 1])}
    real, consumed = [], []
    for r in range(args.repeats):
        for workers, measured in rates.items():
            measured.append(loader_rate(cfg, workers, args.batches))
            print(f"repeat {r}: loader, num_workers={workers}: {measured[-1]:.1f} samples/s", flush=True)
        real.append(fit_rate(cfg, training_data(cfg), args.steps, args.warmup))
        consumed.append(fit_rate(cfg, cached, args.steps, args.warmup))
        print(f"repeat {r}: fit {real[-1]:.1f} samples/s, cached batches {consumed[-1]:.1f} samples/s", flush=True)
    loaders = {w: statistics.median(measured) for w, measured in rates.items()}
    fit, consumption = statistics.median(real), statistics.median(consumed)
    tasks = "+".join(cfg.data.mixture)
    print(f"\n{tasks}, batch {batch}, resolution {cfg.model.resolution}, torch threads {torch.get_num_threads()}\n")
    print("| measurement | samples/s | ratio to training consumption |\n|---|---|---|")
    for workers, rate in loaders.items():
        default = " (default)" if workers == default_workers else ""
        print(f"| loader, `data.num_workers={workers}`{default} | {rate:.1f} | {rate / consumption:.1f} |")
    print(f"| training consumption (steps/s x batch, cached batches) | {consumption:.1f} | 1.0 |")
    print(f"| default fit (real loader, num_workers={default_workers}) | {fit:.1f} | {fit / consumption:.2f} |")
    print(f"\nshare of the fit's time waiting for data: {max(0.0, 1 - fit / consumption):.1%}")


if __name__ == "__main__":
    main()
