"""Quality per CPU-minute of the embedded default: each task's test metrics against training minutes.

Runs the real ``idiff fit`` (a subprocess, as a user runs it) with ``checkpoint.keep_all=true`` so that every
``--every``-th step's checkpoint is kept, then scores each kept checkpoint with the test workflow of ``idiff test``
(``idiff.workflows.evaluate``, in this process) on every task of ``data.mixture``. The synthetic data is written
before the fit starts, so the minutes are those of ``idiff fit`` itself (start-up included): a checkpoint's minute
is its file's modification time less the moment the fit command was started. A fit that starts from other weights
(``init_weights``, as the embedded default starts from the shipped reference) gets them as its first point, step 0 at
minute 0. The identity baseline (the unchanged source decoded and scored the same way) is the floor, drawn as a
dashed line.

    python bench/quality_curve.py                                   # the default: 1,000 steps, a checkpoint every 100
    python bench/quality_curve.py --max-steps 200 --every 50 --max-test-requests 24 --out docs/images \\
        --name quality_curve_short                                  # the short schedule of BENCHMARKS.md

Trailing arguments are Hydra overrides of both the fit and the tests (e.g. ``data.num_workers=1``). Writes
``<name>.md`` (the table), ``<name>.png`` (the plot) and ``<name>.json`` (every number) into ``--out``. Each kept
checkpoint of the embedded default takes ~100 MB (weights, EMA, optimizer state) under ``--runs``.
Results: BENCHMARKS.md ("Quality per CPU-minute").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
from pathlib import Path

import torch
from _arguments import parse_known
from _curves import plot, split_identity, table

from idiff.checkpoints import resolve_checkpoint
from idiff.cli import compose_config
from idiff.files import atomic_write_bytes, atomic_write_json
from idiff.stages import mixture_tasks
from idiff.workflows import evaluate

#: The columns of the table before the metrics, with their formats.
CURVE_COLUMNS = {"step": "{}", "minutes": "{:.1f}"}

#: The metrics shown of each default task (a task with none of these shows all of its own).
HEADLINE = ("AP", "PCK@0.1", "PCK@0.2", "cIoU", "mIoU", "Pr@0.5", "mcIoU", "aAcc")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-steps", "--steps", type=int, default=1000, help="training steps (default: 1,000)")
    parser.add_argument("--every", type=int, default=100, help="keep a checkpoint every this many steps")
    parser.add_argument("--max-test-requests", type=int, default=0, help="cap on each task's test requests (0 = all)")
    parser.add_argument("--runs", default="runs/quality_curve", help="where the fit and test runs go")
    parser.add_argument("--out", default="runs/quality_curve", help="folder of the table, plot and JSON")
    parser.add_argument("--name", default="quality_curve", help="file stem of the table, plot and JSON")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for the fit and the tests")
    return parse_known(parser)


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_fit(args: argparse.Namespace, runs: Path) -> tuple[Path, float, dict[str, float]]:
    """``idiff fit`` with every ``--every``-th checkpoint kept; returns its checkpoint folder, start time, timings."""
    base = [f"paths.runs_dir={runs}", *args.overrides]
    cfg = compose_config("fit", base)
    for task in mixture_tasks(cfg).values():  # write the synthetic data now, so the fit's minutes are training
        task.prepare_data()
    run_dir = runs / "fit" / time.strftime("%Y-%m-%d_%H-%M-%S")
    command = ["idiff", "fit", *base, f"trainer.max_steps={args.max_steps}", "trainer.enable_progress_bar=false",
               f"checkpoint.every_n_train_steps={args.every}", "checkpoint.keep_all=true", f"hydra.run.dir={run_dir}"]
    print("quality_curve:", " ".join(command), flush=True)
    cpu0, load0, started = cpu_seconds_of_children(), os.getloadavg()[0], time.time()
    subprocess.run(command, check=True)
    timings = {"fit_wall_s": time.time() - started, "fit_cpu_s": cpu_seconds_of_children() - cpu0,
               "load_average_before": load0, "load_average_after": os.getloadavg()[0]}
    return run_dir / "checkpoints", started, timings


def kept_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """The kept ``step-N.ckpt`` files with their step, by step."""
    found = [(torch.load(p, map_location="cpu", weights_only=True)["global_step"], p)
             for p in folder.glob("step-*.ckpt")]
    if not found:
        raise SystemExit(f"quality_curve: no step checkpoints in {folder}; is --every larger than --max-steps?")
    return sorted(found)


def score(args: argparse.Namespace, runs: Path, task: str, step: int, checkpoint: Path) -> dict[str, float]:
    """The test workflow of ``idiff test task=<task> ckpt=<checkpoint>``; returns its metrics (identity included)."""
    overrides = [f"task={task}", f"ckpt={checkpoint}", f"paths.runs_dir={runs}", "trainer.enable_progress_bar=false",
                 f"task.max_test_requests={args.max_test_requests}", *args.overrides]
    return evaluate(compose_config("test", overrides), runs / "test" / f"{task}-step{step}")


def main() -> None:
    args = parse_args()
    runs = Path(args.runs)
    folder, started, timings = run_fit(args, runs)
    fit_cfg = compose_config("fit", args.overrides)
    task_names = list(fit_cfg.data.mixture)
    rows, identity = [], {}
    points = [(step, checkpoint, (checkpoint.stat().st_mtime - started) / 60.0)
              for step, checkpoint in kept_checkpoints(folder)]
    if fit_cfg.get("init_weights"):  # a fine-tune: the weights it starts from are the curve's first point
        points.insert(0, (0, resolve_checkpoint(fit_cfg.init_weights, runs), 0.0))
    for step, checkpoint, minutes in points:
        row = {"step": step, "minutes": minutes, "metrics": {}}
        for task in task_names:
            metrics = score(args, runs, task, step, checkpoint)
            identity[task] = split_identity(metrics, HEADLINE)[1]  # the rows keep every metric
            row["metrics"][task] = {k: v for k, v in metrics.items() if not k.startswith("identity/")}
            print(f"quality_curve: step {step}, {row['minutes']:.1f} min, {task}: {row['metrics'][task]}", flush=True)
        rows.append(row)
    out = Path(args.out)
    title = (f"{args.max_steps} steps, checkpoint every {args.every}, "
             f"{args.max_test_requests or 'all'} test requests per task; fit {timings['fit_wall_s'] / 60:.1f} min")
    atomic_write_bytes(out / f"{args.name}.md", table(rows, identity, CURVE_COLUMNS).encode())
    atomic_write_bytes(out / f"{args.name}.png", plot(rows, identity, title, "minutes", "training minutes (idiff fit)"))
    atomic_write_json(out / f"{args.name}.json", {"arguments": vars(args), "timings": timings, "rows": rows,
                                                  "identity": identity, "torch_threads": torch.get_num_threads()})
    print(table(rows, identity, CURVE_COLUMNS))
    print(f"quality_curve: {json.dumps(timings)}; written to {out}/{args.name}.{{md,png,json}}")


if __name__ == "__main__":
    main()
