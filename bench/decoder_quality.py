"""Learned vs analytic decoder on the task's own test requests, without a diffusion model: quality and cost.

Run: python bench/decoder_quality.py --task keypoints [--checkpoint runs/fit/<time>/checkpoints/decoder.ckpt]
[--data-dir data] [--resolution 64] [--seed 123]. Results go to docs/architecture.md ("Learned decoders").

For every test request of the task (the val split) it reads three images with both decoders and scores them with the
task's evaluator: the clean encoded target (an upper bound: the analytic decoders read these exactly), the target
degraded by the decoder's own degradation with a seed it was not trained with (held-out, like a good generation),
and the unchanged source (nothing drawn: the floor). Decoding time is wall time per image, batch 32, on this CPU.
With ``--generations RUN_DIR`` (an ``idiff test task=keypoints decoder=both`` run) it also reports how far apart the
two decoders' points are on the model's generations (median pixel distance, joints both found).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from idiff.cli import compose_config
from idiff.decoders.learned import AnalyticDecoder, load_decoder, resolve_decoder_checkpoint
from idiff.tasks.factory import build_task


def degraded(decoder, requests, seed: int) -> list[np.ndarray]:
    def tensor(images):
        return torch.stack([torch.from_numpy(np.array(i, np.float32)).permute(2, 0, 1) / 255 for i in images])

    labels = torch.from_numpy(np.stack([decoder.decoding.label(r) for r in requests]))
    out, _ = decoder.module.degradation(tensor([r.source for r in requests]), tensor([r.target for r in requests]),
                                        labels, torch.Generator().manual_seed(seed))
    return [(o.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for o in out]


def timed(decoder, images, requests, batch: int = 32) -> tuple[list, float]:
    started, predictions = time.perf_counter(), []
    for i in range(0, len(images), batch):
        predictions += decoder(images[i : i + batch], requests[i : i + batch])
    return predictions, 1000 * (time.perf_counter() - started) / len(images)


def point_agreement(run_dir: Path) -> dict[str, float]:
    """Median distance (image pixels) between the analytic and learned points on the same generations."""
    def points(path: Path) -> dict[int, np.ndarray]:
        results = json.loads(path.read_text())
        return {i: np.asarray(r["keypoints"], float).reshape(-1, 3) for i, r in enumerate(results)}

    analytic = points(run_dir / "keypoints_results.json")
    learned = points(run_dir / "learned" / "keypoints_results.json")
    distances, only = [], [0, 0]
    for i, a in analytic.items():
        b = learned[i]
        both = (a[:, 2] > 0) & (b[:, 2] > 0)
        distances += list(np.linalg.norm(a[both, :2] - b[both, :2], axis=1))
        only[0] += int(((a[:, 2] > 0) & ~(b[:, 2] > 0)).sum())
        only[1] += int((~(a[:, 2] > 0) & (b[:, 2] > 0)).sum())
    return {"joints found by both": len(distances), "median distance (px)": float(np.median(distances)),
            "found by analytic only": only[0], "found by learned only": only[1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="keypoints")
    parser.add_argument("--checkpoint", default="latest")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--generations", type=Path, default=None)
    args = parser.parse_args()
    cfg = compose_config("test", [f"task={args.task}", f"paths.data_dir={args.data_dir}",
                                  f"model.resolution={args.resolution}"])
    task = build_task(args.task, cfg)
    task.prepare_data()
    requests = task.test_requests()
    learned = load_decoder(resolve_decoder_checkpoint(args.checkpoint, args.runs_dir, args.task), task, args.task)
    analytic = AnalyticDecoder(task)
    inputs = {"clean encodings": [r.target for r in requests],
              "degraded encodings (held out)": degraded(learned, requests, args.seed),
              "sources (nothing drawn)": [r.source for r in requests]}
    print(f"{args.task}: {len(requests)} test requests at {args.resolution} px, "
          f"decoder {learned.module.hparams['network'].get('backbone')}")
    with tempfile.TemporaryDirectory() as scratch:
        for label, images in inputs.items():
            for name, decoder in (("analytic", analytic), ("learned", learned)):
                predictions, ms = timed(decoder, images, requests)
                metrics = task.evaluate(requests, predictions, Path(scratch) / name)
                hidden = ("AP_", "AP5", "AP7", "Pr@0.7", "Pr@0.9", "N-", "T-")
                shown = {k: round(v, 3) for k, v in metrics.items() if not k.startswith(hidden)}
                print(f"  {label:30s} {name:9s} {shown}  {ms:.2f} ms/image")
    if args.generations:
        print("on the model's generations:", point_agreement(args.generations))


if __name__ == "__main__":
    main()
