"""A small synthetic semantic-segmentation dataset, written in the real COCO-Stuff layout.

Landscapes of 12 classes -- sky, clouds, mountain, snow, building, tree, grass, sand, water, road, fence, bush --
drawn as a label map first (horizon, optional mountains with snow caps, clouds, buildings on the horizon, a lake,
a road, trees, bushes, a fence), then rendered: each class a colour jittered per image plus its own texture
(smooth for sky and water, grainy for grass and sand, stripes for fence and road). A 1 px seam between different
classes is unlabeled (255), as COCO-Stuff's annotators leave thin gaps. Files, as
:func:`idiff_segmentation.labelmaps.load_label_maps` reads them::

    <root>/images/<split>/<name>.jpg
    <root>/annotations/<split>/<name>.png      # 0-based class values, 255 = unlabeled
    <root>/labels.txt                          # "0: unlabeled", "1: sky", ... (1-based, as COCO-Stuff's)

``labels.txt`` is written last, atomically: a dataset whose labels file exists is complete. Deterministic per seed.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from idiff.files import atomic_write_bytes, atomic_write_png
from PIL import Image, ImageDraw

from idiff_segmentation.labelmaps import IGNORE_INDEX

__all__ = ["STUFF_CLASSES", "render_landscape", "sample_landscape", "write_synthetic_cocostuff"]

#: Class names, class index = position (PNG value), labels.txt id = position + 1.
STUFF_CLASSES: tuple[str, ...] = (
    "sky", "clouds", "mountain", "snow", "building", "tree", "grass", "sand", "water", "road", "fence", "bush",
)  # fmt: skip
_C = {name: k for k, name in enumerate(STUFF_CLASSES)}
#: Base colour and texture (noise amplitude, stripe period or 0) of each class.
_LOOK: dict[str, tuple[tuple[int, int, int], float, int]] = {
    "sky": ((120, 170, 230), 2.0, 0),
    "clouds": ((235, 238, 242), 3.0, 0),
    "mountain": ((110, 100, 95), 10.0, 0),
    "snow": ((245, 248, 250), 3.0, 0),
    "building": ((170, 120, 90), 6.0, 5),
    "tree": ((40, 110, 45), 14.0, 0),
    "grass": ((95, 170, 60), 12.0, 0),
    "sand": ((220, 195, 140), 10.0, 0),
    "water": ((40, 90, 160), 4.0, 0),
    "road": ((75, 75, 80), 5.0, 7),
    "fence": ((150, 110, 70), 6.0, 3),
    "bush": ((60, 130, 50), 16.0, 0),
}


def sample_landscape(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random label map (uint8, class indices of :data:`STUFF_CLASSES`, seams 255)."""
    img = Image.new("L", (size, size), _C["sky"])
    d = ImageDraw.Draw(img)
    horizon = int(rng.uniform(0.35, 0.6) * size)
    for _ in range(int(rng.integers(0, 3))):
        x, y, w = rng.uniform(0, size), rng.uniform(0.05, 0.3) * size, rng.uniform(0.15, 0.35) * size
        d.ellipse([x - w, y - w / 3, x + w, y + w / 3], fill=_C["clouds"])
    if rng.random() < 0.6:
        xs = np.linspace(-0.1 * size, 1.1 * size, int(rng.integers(3, 6)))
        peaks = [(float(x), float(horizon - rng.uniform(0.1, 0.3) * size)) for x in xs]
        d.polygon([(-1, horizon), *peaks, (size + 1, horizon)], fill=_C["mountain"])
        if rng.random() < 0.5:
            for x, y in peaks:
                w = 0.06 * size
                d.polygon([(x - w, y + w), (x, y), (x + w, y + w)], fill=_C["snow"])
    ground = ("grass", "sand", "snow")[int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
    d.rectangle([0, horizon, size, size], fill=_C[ground])
    for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.5 else 0):
        x, w, h = rng.uniform(0, size), rng.uniform(0.08, 0.2) * size, rng.uniform(0.1, 0.3) * size
        d.rectangle([x, horizon - h, x + w, horizon + 2], fill=_C["building"])
    if rng.random() < 0.5:
        cx, cy = rng.uniform(0.2, 0.8) * size, rng.uniform(horizon + 0.15 * size, size)
        w, h = rng.uniform(0.15, 0.35) * size, rng.uniform(0.06, 0.12) * size
        d.ellipse([cx - w, cy - h, cx + w, cy + h], fill=_C["water"])
    if rng.random() < 0.5:
        x = rng.uniform(0.3, 0.7) * size
        d.polygon(
            [(x - 0.02 * size, horizon), (x + 0.02 * size, horizon), (x + 0.25 * size, size), (x - 0.25 * size, size)],
            fill=_C["road"],
        )
    if rng.random() < 0.3:
        y = rng.uniform(horizon + 0.05 * size, 0.9 * size)
        d.rectangle([0, y, size, y + 0.05 * size], fill=_C["fence"])
    for _ in range(int(rng.integers(0, 4))):
        x, y, r = rng.uniform(0, size), rng.uniform(horizon, size), rng.uniform(0.04, 0.1) * size
        kind = "tree" if rng.random() < 0.6 else "bush"
        if kind == "tree":
            d.rectangle([x - r / 4, y - r, x + r / 4, y + r / 2], fill=_C["tree"])
            y -= 1.5 * r
        d.ellipse([x - r, y - r, x + r, y + r], fill=_C[kind])
    labels = np.array(img, dtype=np.uint8)
    seam = np.zeros_like(labels, dtype=bool)
    seam[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    seam[:-1, :] |= labels[:-1, :] != labels[1:, :]
    labels[seam] = IGNORE_INDEX
    return labels


def render_landscape(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An RGB picture of a label map: jittered class colours, class textures, a light gradient."""
    h, w = labels.shape
    filled = labels.copy()
    filled[filled == IGNORE_INDEX] = np.roll(labels, 1, axis=1)[filled == IGNORE_INDEX]  # seams: a neighbour's look
    filled[filled == IGNORE_INDEX] = _C["sky"]
    img = np.zeros((h, w, 3), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for name, (rgb, amplitude, period) in _LOOK.items():
        m = filled == _C[name]
        if not m.any():
            continue
        colour = np.asarray(rgb, np.float32) + rng.uniform(-18, 18, 3)
        tex = rng.normal(0, amplitude, (int(m.sum()), 1)).astype(np.float32)
        if period:
            tex += 12.0 * (((yy[m] if name != "fence" else xx[m]) // period) % 2)[:, None] - 6.0
        img[m] = colour + tex
    light = 1.0 + 0.15 * (xx / max(w - 1, 1) - 0.5) * rng.choice([-1.0, 1.0])
    return np.clip(img * light[..., None], 0, 255).astype(np.uint8)


def write_synthetic_cocostuff(
    root: Path | str,
    splits: Mapping[str, int],
    seed: int = 0,
    image_size: int = 128,
    labels_file: str = "labels.txt",
    image_dir_pattern: str = "images/{split}",
    label_dir_pattern: str = "annotations/{split}",
) -> Path:
    """Write synthetic landscapes for each ``{split: num_images}`` in the COCO-Stuff layout, then ``labels.txt``.

    Args:
        root: dataset root (``data_dir`` of the task).
        splits: number of images per split name.
        seed: random seed (the split name is mixed in, so splits differ for one seed).
        image_size: square image side.
        labels_file: class list relative to ``root``, written last.
        image_dir_pattern: image folder relative to ``root`` (``{split}`` substituted).
        label_dir_pattern: label-map folder likewise.

    Returns:
        The labels file.
    """
    root = Path(root)
    for split, count in splits.items():
        rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
        for i in range(1, count + 1):
            labels = sample_landscape(rng, image_size)
            name = f"{i:012d}"
            buffer = io.BytesIO()
            Image.fromarray(render_landscape(labels, rng)).save(buffer, format="JPEG", quality=95)
            atomic_write_bytes(root / image_dir_pattern.format(split=split) / f"{name}.jpg", buffer.getvalue())
            atomic_write_png(root / label_dir_pattern.format(split=split) / f"{name}.png", labels)
    lines = ["0: unlabeled", *(f"{k + 1}: {name}" for k, name in enumerate(STUFF_CLASSES))]
    return atomic_write_bytes(root / labels_file, ("\n".join(lines) + "\n").encode())
