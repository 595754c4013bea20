"""What a deblur test run's edit does: the model's edit (output - blurred input) against the true one (sharp - blurred).

Reads the full frames an ``idiff test task=deblur`` run wrote (``<run>/restored/<sequence>_<frame>.png``) and the
GoPro-layout data they came from (``<root>/test/<sequence>/{blur,sharp}/<frame>.png``), and prints, averaged over
the frames: the PSNR of the output and of the identity (the blurred input), of the identity plus only the edit's
per-image mean or only its low-passed part (Gaussian, ``--sigma`` px), of the output less those parts, the RMS of
the edit and of the true edit (grey levels), their correlation, and the edit's mean absolute per-channel offset.

    python bench/deblur_edit.py runs/test/<deblur run> data/deblur/GOPRO_Large
    python bench/deblur_edit.py     # the newest deblur run under runs/test and data/deblur/GOPRO_Large (nox -s bench)

Results: docs/architecture.md ("Restoration in the default", session 18).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _arguments import parse_known
from PIL import Image
from scipy.ndimage import gaussian_filter


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    return float(10.0 * np.log10(255.0**2 / np.mean((image - reference) ** 2)))


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def frame_numbers(output: np.ndarray, blurred: np.ndarray, sharp: np.ndarray, sigma: float) -> dict[str, float]:
    edit, truth = output - blurred, sharp - blurred
    offset = edit.mean(axis=(0, 1))
    low = gaussian_filter(edit, (sigma, sigma, 0))
    return {
        "output": psnr(output, sharp), "identity": psnr(blurred, sharp),
        "identity + edit mean": psnr(blurred + offset, sharp), "identity + low-passed edit": psnr(blurred + low, sharp),
        "output - edit mean": psnr(output - offset, sharp), "output - low-passed edit": psnr(output - low, sharp),
        "edit RMS": float(np.sqrt(np.mean(edit**2))), "true edit RMS": float(np.sqrt(np.mean(truth**2))),
        "correlation": float((edit * truth).sum() / np.sqrt((edit**2).sum() * (truth**2).sum())),
        "|edit mean|": float(np.abs(offset).mean()),
    }


def newest_deblur_run(runs: Path) -> Path | None:
    """The newest ``runs/test/<time>`` folder whose ``metrics.json`` is of task ``deblur``."""
    found = [p.parent for p in runs.glob("test/*/metrics.json") if json.loads(p.read_text()).get("task") == "deblur"]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, nargs="?", help="an `idiff test task=deblur` run folder (with restored/); "
                        "default: the newest under runs/test")
    parser.add_argument("root", type=Path, nargs="?", default=Path("data/deblur/GOPRO_Large"),
                        help="the GoPro-layout data root (with test/<sequence>/{blur,sharp}/)")
    parser.add_argument("--sigma", type=float, default=3.0, help="Gaussian low-pass of the edit, px (default 3)")
    args = parse_known(parser)
    if args.run is None:
        args.run = newest_deblur_run(Path("runs"))
        if args.run is None:
            print("deblur_edit: no `idiff test task=deblur` run under runs/test; run one first (nothing measured)")
            return
    rows = []
    for path in sorted((args.run / "restored").glob("*.png")):
        sequence, frame = path.stem.rsplit("_", 1)
        folder = args.root / "test" / sequence
        rows.append(frame_numbers(read(path), read(folder / "blur" / f"{frame}.png"),
                                  read(folder / "sharp" / f"{frame}.png"), args.sigma))
    if not rows:
        raise SystemExit(f"deblur_edit: no frames under {args.run / 'restored'}")
    print(f"{len(rows)} frames of {args.run}")
    for key in rows[0]:
        print(f"{key:>28}: {np.mean([r[key] for r in rows]):8.3f}")


if __name__ == "__main__":
    main()
