"""A small synthetic CLWD: procedural scenes under coloured, semi-transparent watermarks, in the CLWD layout.

CLWD (Liu et al., WACV 2021) pastes coloured logos onto photos with a random size, position and opacity; it ships
the watermarked image, the watermark-free one, and the watermark's mask, opacity (alpha) map and colours. Here:

- the watermark is either a word (:data:`idiff_enhancement.scenes.WORDS`, FreeType font, 15-35% of the image height)
  or a logo (a ring around a filled polygon or disk), anti-aliased, rotated by up to +-30 degrees, placed at random;
- its colour runs between two random colours across the image (CLWD's watermarks are coloured, not only white);
- its opacity is one value in [0.3, 0.7] times the anti-aliased coverage, and it is composited as
  ``J = (1 - alpha) I + alpha W`` on the clean image I.

Files per image ``n`` (1, 2, ...; :mod:`idiff_enhancement.clwd`): ``Watermarked_image/n.jpg`` and
``Watermark_free_image/n.jpg`` (JPEG quality 95, as CLWD's are JPEGs), ``Mask/n.png`` (255 where alpha > 0),
``Alpha/n.png`` (alpha x 255) and ``Watermark/n.png`` (the colours). The dataset folder is written staged; square
images of ``size`` px. Deterministic per seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from idiff_enhancement.clwd import CLWD_FOLDERS
from idiff_enhancement.images import write_rgb
from idiff_enhancement.scenes import WORDS, render_scene
from idiff_enhancement.staging import staged_directory

__all__ = ["OPACITY_RANGE", "apply_watermark", "render_watermark", "write_synthetic_clwd"]

#: Range of the watermark's opacity.
OPACITY_RANGE: tuple[float, float] = (0.3, 0.7)


def _coverage(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a word or a logo, rotated and placed at random."""
    scale = 2  # drawn at twice the size, then reduced: smooth edges
    mask = Image.new("L", (width * scale, height * scale), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy = rng.uniform(0.25, 0.75) * width * scale, rng.uniform(0.25, 0.75) * height * scale
    if rng.random() < 0.5:
        font = ImageFont.load_default(size=float(rng.uniform(0.15, 0.35) * height * scale))
        draw.text((cx, cy), WORDS[int(rng.integers(len(WORDS)))], fill=255, font=font, anchor="mm")
    else:
        r = rng.uniform(0.12, 0.3) * min(height, width) * scale
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=255, width=max(2, int(r * 0.15)))
        corners = int(rng.integers(3, 7))
        if corners == 6:
            draw.ellipse([cx - r / 2, cy - r / 2, cx + r / 2, cy + r / 2], fill=255)
        else:
            angles = rng.uniform(0, 2 * np.pi) + np.arange(corners) * 2 * np.pi / corners
            draw.polygon([(cx + 0.6 * r * np.cos(a), cy + 0.6 * r * np.sin(a)) for a in angles], fill=255)
    mask = mask.rotate(float(rng.uniform(-30, 30)), resample=Image.Resampling.BILINEAR, center=(cx, cy))
    return np.asarray(mask.resize((width, height), Image.Resampling.BOX), np.float64) / 255.0


def render_watermark(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A random watermark: its colours, uint8 (H, W, 3), and its alpha map, float (H, W) in [0, 0.7]."""
    coverage = _coverage(rng, height, width)
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    first, second = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    colour = np.broadcast_to(first * (1 - t) + second * t, (height, width, 3))
    alpha = coverage * rng.uniform(*OPACITY_RANGE)
    return np.round(colour).astype(np.uint8), alpha


def apply_watermark(clean: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``(1 - alpha) clean + alpha colour``, rounded to uint8."""
    a = np.asarray(alpha, np.float64)[..., None]
    mixed = (1 - a) * np.asarray(clean, np.float64) + a * np.asarray(colour, np.float64)
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


def write_synthetic_clwd(root: Path | str, splits: Mapping[str, int], seed: int = 0, size: int = 128) -> Path:
    """Write ``{split: images}`` in the CLWD layout under ``root``; returns ``root``."""
    root = Path(root)
    with staged_directory(root) as staging:
        for split, count in splits.items():
            rng = np.random.default_rng([seed, zlib.crc32(f"clwd/{split}".encode())])
            folders = [staging / split / name for name in CLWD_FOLDERS]
            for n in range(1, count + 1):
                clean = render_scene(rng, size, size)
                colour, alpha = render_watermark(rng, size, size)
                write_rgb(folders[0] / f"{n}.jpg", apply_watermark(clean, colour, alpha), atomic=False)
                write_rgb(folders[1] / f"{n}.jpg", clean, atomic=False)
                write_rgb(folders[2] / f"{n}.png", np.where(alpha > 0, 255, 0).astype(np.uint8), atomic=False)
                write_rgb(folders[3] / f"{n}.png", np.round(alpha * 255).astype(np.uint8), atomic=False)
                write_rgb(folders[4] / f"{n}.png", colour, atomic=False)
    return root
