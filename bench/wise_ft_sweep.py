"""WiSE-FT's alpha swept on one checkpoint: each task's test metrics against the fine-tuned weights' share.

A checkpoint of a fit with ``stage.wise_ft`` (the embedded default's) keeps the weights it started from, so one fit
can be tested at any alpha: 0.0 is the start (the shipped reference for the default), 1.0 the fine-tuned weights
alone. For each ``--alphas`` value and each task of ``data.mixture`` this runs the test workflow of
``idiff test task=<task> ckpt=<checkpoint> wise_ft=<alpha>`` (``idiff.workflows.evaluate``, in this process) and
writes the metrics against alpha as a table (``<name>.md``), a plot (``<name>.png``, the identity baseline dashed)
and every number (``<name>.json``) into ``--out``:

    python bench/wise_ft_sweep.py                                   # ckpt=latest under runs/, 32 requests per task
    python bench/wise_ft_sweep.py --ckpt runs/fit/<time>/checkpoints/last.ckpt --alphas 0,0.5,1 --out docs/images

Trailing arguments are Hydra overrides of the tests. Without a checkpoint (no fit run yet) it says so and
measures nothing. Results: BENCHMARKS.md ("Quality per CPU-minute").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _arguments import parse_known
from _curves import plot, split_identity, table

from idiff.checkpoints import find_latest_checkpoint, resolve_checkpoint
from idiff.cli import compose_config
from idiff.files import atomic_write_bytes, atomic_write_json
from idiff.workflows import evaluate

#: The metrics shown of each default task (a task with none of these shows all of its own).
HEADLINE = ("PCK@0.1", "PCK@0.2", "cIoU", "mcIoU", "PSNR", "SSIM", "L1")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt", default="latest", help="the checkpoint (latest: the newest fit under --runs-dir)")
    parser.add_argument("--runs-dir", default="runs", help="where ckpt=latest looks (default: runs)")
    parser.add_argument("--alphas", default="0,0.25,0.5,0.75,1", help="comma-separated alphas in [0, 1]")
    parser.add_argument("--max-test-requests", type=int, default=32, help="cap on each task's test requests (0 = all)")
    parser.add_argument("--runs", default="runs/wise_ft_sweep", help="where the test runs go")
    parser.add_argument("--out", default="runs/wise_ft_sweep", help="folder of the table, plot and JSON")
    parser.add_argument("--name", default="wise_ft_sweep", help="file stem of the table, plot and JSON")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for the tests")
    return parse_known(parser)


def main() -> None:
    args = parse_args()
    if args.ckpt == "latest" and find_latest_checkpoint(args.runs_dir) is None:
        print(f"wise_ft_sweep: no fit run under {args.runs_dir}/fit; run `idiff fit` first (nothing measured)")
        return
    checkpoint = resolve_checkpoint(args.ckpt, args.runs_dir)
    alphas = [float(a) for a in args.alphas.split(",")]
    runs = Path(args.runs)
    tasks = list(compose_config("test", args.overrides).data.mixture)
    rows, identity = [], {}
    for alpha in alphas:
        row = {"alpha": alpha, "metrics": {}}
        for task in tasks:
            overrides = [f"task={task}", f"ckpt={checkpoint}", f"wise_ft={alpha}", f"paths.runs_dir={runs}",
                         "trainer.enable_progress_bar=false", f"task.max_test_requests={args.max_test_requests}",
                         *args.overrides]
            metrics = evaluate(compose_config("test", overrides), runs / "test" / f"{task}-alpha{alpha:g}")
            row["metrics"][task], identity[task] = split_identity(metrics, HEADLINE)
            print(f"wise_ft_sweep: alpha {alpha:g}, {task}: {row['metrics'][task]}", flush=True)
        rows.append(row)
    out = Path(args.out)
    requests = args.max_test_requests or "all"
    title = f"WiSE-FT alpha on {checkpoint.parent.parent.name}, {requests} test requests per task"
    columns = {"alpha": "{:g}"}
    atomic_write_bytes(out / f"{args.name}.md", table(rows, identity, columns).encode())
    atomic_write_bytes(out / f"{args.name}.png",
                       plot(rows, identity, title, "alpha", "alpha (0: the start weights, 1: the fine-tuned)"))
    atomic_write_json(out / f"{args.name}.json", {"arguments": vars(args), "checkpoint": str(checkpoint),
                                                  "rows": rows, "identity": identity})
    print(table(rows, identity, columns))
    print(f"wise_ft_sweep: written to {out}/{args.name}.{{md,png,json}}")


if __name__ == "__main__":
    main()
