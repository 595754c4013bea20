"""How much a linear filter can gain on the deblur test frames: one fitted to each frame itself, or one to all.

Reads the GoPro-layout test split (``<root>/test/<sequence>/{blur,sharp}/<frame>.png``) and fits, by least squares,
a ``--size`` x ``--size`` filter plus offset from the blurred frame to its sharp one (the same filter for the three
channels, edge-padded borders): once per frame (an oracle that knows each frame's own blur, an upper bound for blind
deconvolution by a linear filter) and once for all frames together (the best a task-wide filter such as
``model.source_filter`` can do). PSNR is over the pooled squared error of all frames, so the input's figure differs
from ``idiff test``'s mean of per-frame PSNRs.

    python bench/deblur_headroom.py data/deblur/GOPRO_Large
    python bench/deblur_headroom.py     # data/deblur/GOPRO_Large (nox -s bench), nothing measured if it is missing

Results: BENCHMARKS.md ("Restoration with a larger budget").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _arguments import parse_known
from deblur_edit import read  # bench/ is the script's directory


def neighbourhoods(image: np.ndarray, size: int) -> np.ndarray:
    """(H * W * 3, size**2 + 1): each pixel's size x size neighbourhood in its own channel, and a constant 1."""
    h, w, _ = image.shape
    k = size // 2
    padded = np.pad(image, ((k, k), (k, k), (0, 0)), mode="edge")
    taps = [padded[dy : dy + h, dx : dx + w] for dy in range(size) for dx in range(size)]
    features = np.stack(taps, axis=-1).reshape(-1, size * size)
    return np.concatenate([features, np.ones((len(features), 1))], axis=1)


def fitted_error(features: np.ndarray, target: np.ndarray) -> float:
    """Sum of squared errors of the least-squares linear map from ``features`` to ``target``."""
    weights, *_ = np.linalg.lstsq(features, target, rcond=None)
    return float(((features @ weights - target) ** 2).sum())


def pooled_psnr(squared_error: float, count: int) -> float:
    return float(10.0 * np.log10(255.0**2 * count / squared_error))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path("data/deblur/GOPRO_Large"),
                        help="the GoPro-layout data root (with test/<sequence>/{blur,sharp}/)")
    parser.add_argument("--size", type=int, default=7, help="filter side, odd (default 7)")
    args = parse_known(parser)
    blurred_paths = sorted(args.root.glob("test/*/blur/*.png"))
    if not blurred_paths:
        print(f"deblur_headroom: no test frames under {args.root}/test/*/blur; run `idiff fit` once (nothing measured)")
        return
    features, targets, identity, per_frame = [], [], 0.0, 0.0
    for path in blurred_paths:
        blurred, sharp = read(path), read(path.parent.parent / "sharp" / path.name)
        x, y = neighbourhoods(blurred, args.size), sharp.reshape(-1)
        identity += float(((blurred - sharp) ** 2).sum())
        per_frame += fitted_error(x, y)
        features.append(x)
        targets.append(y)
    count = sum(len(y) for y in targets)
    shared = fitted_error(np.concatenate(features), np.concatenate(targets))
    print(f"{len(blurred_paths)} test frames of {args.root}, {args.size} x {args.size} filters, pooled PSNR (dB)")
    for name, error in (("input", identity), ("a filter fitted to each frame", per_frame),
                        ("one filter fitted to all frames", shared)):
        print(f"{name:>32}: {pooled_psnr(error, count):7.2f}")


if __name__ == "__main__":
    main()
