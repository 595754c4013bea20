"""Coarse-to-fine vs full-resolution keypoint search: where their decodes differ, on random model-like images.

Each image is a random smooth source (128-384 px) with one disk per requested colour (1-5 colours, radius 5-20 px,
so the default searches a subsampled grid first), degraded as bench/decoders.py degrades a target (Gaussian blur
0.8 px, noise sigma 8). Three kinds, in turn: one disk per colour; pure noise against the source (nothing drawn);
two disks per colour (a second encoding of other positions blended in by the pixelwise maximum). For each kind the
script counts the requested joints whose default decode differs from ``decode_keypoints(stride=1)`` (every pixel):
found by one search only, and points more than 1e-3 / 1 px apart.

    python bench/keypoint_search.py                  # 400 images
    python bench/keypoint_search.py --images 1000

Results: BENCHMARKS.md ("Decoders").
"""

from __future__ import annotations

import argparse
import collections

import numpy as np
from _arguments import parse_known
from decoders import degrade
from idiff_keypoints.decoding import coarse_stride, decode_keypoints
from idiff_keypoints.encoding import COLOUR_NAMES, COLOURS, draw_disks
from PIL import Image

KINDS = ("one disk per colour", "pure noise", "two disks per colour")


def model_like(rng: np.random.Generator, source: np.ndarray, colours: list[str], radius: float) -> np.ndarray:
    """``source`` with one disk per colour at uniform positions, degraded like a model output."""
    centres = rng.uniform(0, source.shape[0] - 1, (len(colours), 2))
    return degrade(draw_disks(source, centres, [COLOURS[c] for c in colours], radius), rng)


def case(seed: int) -> tuple[str, np.ndarray, np.ndarray, list[str], float]:
    """Kind, generated image, source, colours and radius of image ``seed``."""
    rng = np.random.default_rng(seed)
    size = int(rng.choice([128, 200, 256, 384]))
    radius = float(rng.uniform(5.0, 20.0))
    colours = [str(c) for c in rng.choice(COLOUR_NAMES, int(rng.integers(1, 6)), replace=False)]
    small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    source = np.asarray(Image.fromarray(small).resize((size, size), Image.Resampling.BILINEAR))
    kind = KINDS[seed % 3]
    if kind == "pure noise":
        return kind, degrade(source, rng), source, colours, radius
    generated = model_like(rng, source, colours, radius)
    if kind == "two disks per colour":
        generated = np.maximum(generated, model_like(rng, source, colours, radius))
    return kind, generated, source, colours, radius


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=400)
    args = parse_known(parser)
    counts: dict[str, collections.Counter] = {kind: collections.Counter() for kind in KINDS}
    for seed in range(args.images):
        kind, generated, source, colours, radius = case(seed)
        assert coarse_stride(radius) > 1
        coarse = decode_keypoints(generated, source, colours, radius=radius)
        full = decode_keypoints(generated, source, colours, radius=radius, stride=1)
        distance = np.linalg.norm(coarse[:, :2] - full[:, :2], axis=1)
        count = counts[kind]
        count["joints"] += len(colours)
        count["found by one only"] += int(((coarse[:, 2] > 0) != (full[:, 2] > 0)).sum())
        count["> 1e-3 px apart"] += int((distance > 1e-3).sum())
        count["> 1 px apart"] += int((distance > 1.0).sum())
    columns = ("joints", "found by one only", "> 1e-3 px apart", "> 1 px apart")
    print(f"\n{args.images} images, 128-384 px, radius 5-20 px, 1-5 colours\n")
    print(f"| kind | {' | '.join(columns)} |\n|---|{'---|' * len(columns)}")
    for kind, count in counts.items():
        print(f"| {kind} | {' | '.join(str(count[c]) for c in columns)} |")
    total = sum(counts.values(), collections.Counter())
    print(f"| all | {' | '.join(str(total[c]) for c in columns)} |")


if __name__ == "__main__":
    main()
