"""Procedural clean images: the ground truths of the synthetic enhancement datasets.

A scene is a two-colour gradient at a random angle, modulated by fractal value noise (four octaves of smoothly
interpolated random grids, so there is texture at every scale), over which 4-10 shapes are drawn with hard edges:
rectangles, ellipses, polygons and thick lines, filled plainly or with stripes or a checkerboard of a random period,
plus 0-2 words of text. The hard edges and fine periodic patterns are what blur destroys and noise hides; smooth
regions are what a denoiser must not smear. Scenes contain no noise of their own. Deterministic for a given
generator state.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["WORDS", "fractal_noise", "render_scene"]

#: Words drawn on scenes and used as text watermarks.
WORDS: tuple[str, ...] = (
    "idiff", "SAMPLE", "PREVIEW", "photo", "STOCK", "draft", "COPY", "studio", "demo", "proof", "Aurora", "Delta",
)  # fmt: skip


def fractal_noise(rng: np.random.Generator, height: int, width: int, octaves: int = 4) -> np.ndarray:
    """Value noise in about [-1, 1]: random grids of 3, 6, 12, ... cells upsampled bicubically, halving amplitude."""
    total = np.zeros((height, width), np.float64)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        cells = 3 * 2**octave
        grid = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
        up = Image.fromarray(grid).resize((width, height), Image.Resampling.BICUBIC)
        total += amplitude * np.asarray(up, np.float64)
        norm += amplitude
        amplitude /= 2
    return total / norm


def _pattern(rng: np.random.Generator, height: int, width: int, colour: np.ndarray) -> np.ndarray:
    """Plain colour, stripes or a checkerboard of two shades of ``colour``."""
    kind = rng.choice(["plain", "stripes", "checker"], p=[0.5, 0.3, 0.2])
    other = np.clip(colour + rng.uniform(-110, 110, 3), 0, 255)
    if kind == "plain":
        return np.broadcast_to(colour, (height, width, 3)).astype(np.float64)
    period = int(rng.integers(2, 7))
    yy, xx = np.mgrid[0:height, 0:width]
    if kind == "stripes":
        angle = rng.uniform(0, np.pi)
        on = ((np.cos(angle) * xx + np.sin(angle) * yy) // period) % 2 == 0
    else:
        on = ((yy // period) + (xx // period)) % 2 == 0
    return np.where(on[..., None], colour, other)


def _shape(draw: ImageDraw.ImageDraw, rng: np.random.Generator, height: int, width: int) -> None:
    size = min(height, width)
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    rx, ry = rng.uniform(0.06, 0.3, 2) * size
    kind = rng.choice(["rectangle", "ellipse", "polygon", "line"])
    if kind == "rectangle":
        draw.rectangle([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    elif kind == "ellipse":
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    elif kind == "polygon":
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 7))))
        draw.polygon([(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles], fill=255)
    else:
        angle = rng.uniform(0, np.pi)
        dx, dy = rx * np.cos(angle), rx * np.sin(angle)
        draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=255, width=max(1, int(rng.uniform(0.01, 0.05) * size)))


def render_scene(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random clean uint8 (height, width, 3) image (see the module docstring)."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    low, high = rng.uniform(30, 225, 3), rng.uniform(30, 225, 3)
    image = low * (1 - t[..., None]) + high * t[..., None]
    image += fractal_noise(rng, height, width)[..., None] * rng.uniform(15, 45) * rng.uniform(0.5, 1.0, 3)
    for _ in range(int(rng.integers(4, 11))):
        mask = Image.new("L", (width, height), 0)
        _shape(ImageDraw.Draw(mask), rng, height, width)
        inside = np.asarray(mask) > 0
        fill = _pattern(rng, height, width, rng.uniform(0, 255, 3))
        image[inside] = fill[inside]
    pil = Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(0, 3))):
        font = ImageFont.load_default(size=max(6.0, float(rng.uniform(0.08, 0.2) * height)))
        word = WORDS[int(rng.integers(len(WORDS)))]
        xy = (float(rng.uniform(0, 0.7) * width), float(rng.uniform(0, 0.8) * height))
        draw.text(xy, word, fill=tuple(int(v) for v in rng.integers(0, 256, 3)), font=font)
    return np.asarray(pil, dtype=np.uint8)
