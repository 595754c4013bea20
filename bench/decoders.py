"""Decoder throughput: images/s of the analytic decoders (keypoints, referring mask, semantic masks) at 256 px.

Each task is built as ``idiff test`` builds it (``--resolution`` 256, its synthetic data written at 256 px under
``--data``); its test requests give real sources and encoded targets. A target degraded as a model output is (a
Gaussian blur of 0.8 px, then Gaussian noise of sigma 8, seeded) is the "generated" image, so the decoder does its
full work (noise estimate, degradation fit, neighbourhood votes) instead of reading a clean encoding. Each task's
``decode(generated, request)`` (what the test loop calls per generated image: keypoints with 1-5 requested colours,
one mask per referring expression, one mask per class of a label map) runs over all requests ``--repeats`` times in
this process; the table gives images/s (wall clock, median over repeats) and CPU milliseconds per image (median;
the figure to compare when other work shares the machine).

Each decoder also runs as it did before its shortcut, in turns with the default (the order alternating by repeat):
keypoints with the full-resolution search (``decode_keypoints(stride=1)``, every pixel; the default searches a
subsampled grid first at this size), with how far apart their points are; masks with the bilateral filter over
every pixel (``SPARSE_SHARE = 0``; the default filters only pixels whose window holds votes on both sides of the
prior), with whether the masks are identical. Masks also run through the grid decoder (``task.decode_grid=64``,
``idiff_segmentation.grid_decoding``), with the IoU of its masks to the default's and the task's metrics
(``task.evaluate``: cIoU / mIoU, mcIoU / mIoU) with each.

    python bench/decoders.py                       # 256 px, 3 repeats
    python bench/decoders.py --profile             # also cProfile each decoder (top 12 by internal time)

Results: BENCHMARKS.md ("Decoders").
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _arguments import parse_known
from _pairs import in_turn, paired_ratio
from idiff_keypoints.decoding import decode_keypoints
from idiff_segmentation import decoding as mask_decoding
from PIL import Image, ImageFilter

from idiff.cli import compose_config
from idiff.tasks.factory import build_task

TASKS = ("keypoints", "referring_segmentation", "semantic_segmentation")


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A model-output-like version of an encoded target: Gaussian blur (0.8 px), then Gaussian noise (sigma 8)."""
    blurred = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float64)
    return np.clip(blurred + rng.normal(0.0, 8.0, image.shape), 0, 255).astype(np.uint8)


def pairs(name: str, resolution: int, data_dir: str, max_requests: int) -> tuple[object, list]:
    """The task and its test requests with a degraded target each, ``(generated, request)``."""
    overrides = [f"task={name}", f"paths.data_dir={data_dir}", f"task.max_test_requests={max_requests}",
                 f"task.synthetic_image_size={resolution}", "task.synthetic_train_images=1"]
    task = build_task(name, compose_config("test", overrides), resolution=resolution)
    task.prepare_data()
    rng = np.random.default_rng(0)
    return task, [(degrade(r.target, rng), r) for r in task.test_requests()]


def images_per_second(decode, work: list) -> tuple[float, float]:
    """Images/s (wall clock) and CPU milliseconds per image of one pass of ``decode`` over ``work``."""
    started, cpu = time.perf_counter(), time.process_time()
    for generated, request in work:
        decode(generated, request)
    return len(work) / (time.perf_counter() - started), 1e3 * (time.process_time() - cpu) / len(work)


def full_search(generated: np.ndarray, request) -> np.ndarray:
    """The keypoint task's decode with every pixel searched (``stride=1``)."""
    return decode_keypoints(generated, request.source, request.meta["colours"], radius=request.meta["radius"], stride=1)


def whole_image_filter(task):
    """The mask task's decode with the bilateral filter over every pixel (``SPARSE_SHARE`` 0 during the call)."""
    def decode(generated: np.ndarray, request) -> np.ndarray:
        share, mask_decoding.SPARSE_SHARE = mask_decoding.SPARSE_SHARE, 0.0
        try:
            return task.decode(generated, request)
        finally:
            mask_decoding.SPARSE_SHARE = share
    return decode


def grid_decode(task, grid: int):
    """The mask task's decode with ``decode_grid=grid`` (the grid decoder) during the call."""
    def decode(generated: np.ndarray, request) -> np.ndarray:
        previous, task.config.decode_grid = task.config.decode_grid, grid
        try:
            return task.decode(generated, request)
        finally:
            task.config.decode_grid = previous
    return decode


def same_masks(task, work: list, grid: int) -> str:
    """Whether the default mask decode and the whole-image filter give the same masks on ``work``; how close the
    grid decoder's masks are to the default's (IoU), and the task's metrics with each (``task.evaluate``)."""
    whole = whole_image_filter(task)
    exact = [task.decode(g, r) for g, r in work]
    same = sum(np.array_equal(e, whole(g, r)) for e, (g, r) in zip(exact, work, strict=True))
    gridded = [grid_decode(task, grid)(g, r) for g, r in work]
    ious = [(a & b).sum() / max((a | b).sum(), 1) for a, b in zip(exact, gridded, strict=True)]
    requests = [r for _, r in work]
    with tempfile.TemporaryDirectory() as out:
        metrics = {side: task.evaluate(requests, masks, Path(out)) for side, masks in (("default", exact),
                                                                                     (f"grid {grid}", gridded))}
    shown = ", ".join(f"{side} " + " / ".join(f"{k} {v:.4f}" for k, v in list(m.items())[:2])
                      for side, m in metrics.items())
    return (f"{same} of {len(work)} masks identical to the whole-image filter; grid {grid} against the default: "
            f"IoU median {np.median(ious):.4f}, min {np.min(ious):.4f}, {sum(i == 1 for i in ious)} identical; {shown}")


def agreement(task, work: list) -> str:
    """How the default keypoint search and the full one differ on ``work``: found flags, point distances."""
    a = np.concatenate([task.decode(g, r) for g, r in work])
    b = np.concatenate([full_search(g, r) for g, r in work])
    both = (a[:, 2] > 0) & (b[:, 2] > 0)
    dist = np.linalg.norm(a[both, :2] - b[both, :2], axis=1)
    return (f"{len(a)} joints, found by both {both.sum()}, by one only {((a[:, 2] > 0) != (b[:, 2] > 0)).sum()}; "
            f"distance: max {dist.max(initial=0):.3f} px, over 0.5 px {(dist > 0.5).sum()}; "
            f"max score difference {np.abs(a[:, 2] - b[:, 2]).max():.2e}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-requests", type=int, default=40, help="test requests per task (0 = all)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    parser.add_argument("--data", default="", help="data folder (default: a temporary one)")
    parser.add_argument("--grid", type=int, default=64, help="decode_grid of the masks' grid decoder row")
    parser.add_argument("--profile", action="store_true", help="cProfile one pass of each decoder")
    return parse_known(parser)


def main() -> None:
    args = parse_args()
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tasks.split(","):
            task, work = pairs(name, args.resolution, args.data or tmp, args.max_requests)
            before = f"{name}, full search" if name == "keypoints" else f"{name}, every pixel filtered"
            sides = {name: task.decode, before: full_search if name == "keypoints" else whole_image_filter(task)}
            gridded = f"{name}, grid {args.grid}"
            if name != "keypoints":
                sides[gridded] = grid_decode(task, args.grid)
            rates: dict[str, list[float]] = {side: [] for side in sides}
            cpu: dict[str, list[float]] = {side: [] for side in sides}
            for repeat in range(args.repeats):
                for side in in_turn(list(sides), repeat):
                    rate, ms = images_per_second(sides[side], work)
                    rates[side].append(rate)
                    cpu[side].append(ms)
            colours = [len(r.meta["colours"]) for _, r in work] if name == "keypoints" else [1]
            for side in sides:
                rows.append(f"| {side} | {len(work)} | {min(colours)}-{max(colours)} | "
                            f"{statistics.median(rates[side]):.0f} | {statistics.median(cpu[side]):.2f} |")
                print(f"{side}: {len(work)} images, {', '.join(f'{r:.0f}' for r in rates[side])} images/s", flush=True)
            ours, full = rates[name], rates[before]
            ratio = statistics.median(ours) / statistics.median(full)
            same = agreement(task, work) if name == "keypoints" else same_masks(task, work, args.grid)
            notes.append(f"{name} / {before.split(', ')[1]}: {ratio:.2f}x images/s "
                         f"(paired {paired_ratio(ours, full):.2f}x); {same}")
            if gridded in rates:
                notes.append(f"{gridded} / {name}: {statistics.median(rates[gridded]) / statistics.median(ours):.2f}x "
                             f"images/s (paired {paired_ratio(rates[gridded], ours):.2f}x)")
            if args.profile:
                profile = cProfile.Profile()
                profile.runcall(images_per_second, task.decode, work)
                pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(12)
    print(f"\n{args.resolution} px, numpy {np.__version__}, torch threads {torch.get_num_threads()}\n")
    print("| decoder | images | colours | images/s | CPU ms/image |\n|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n".join(["", *notes]))


if __name__ == "__main__":
    main()
