"""Shared fixtures: tiny synthetic REFER, gRefCOCO and COCO-Stuff datasets written once per test session."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from idiff_segmentation.encoding import COLOUR_NAMES, COLOURS
from idiff_segmentation.synthetic_refer import smooth_background, write_synthetic_refer
from idiff_segmentation.synthetic_stuff import write_synthetic_cocostuff

#: Run resolution of the task tests; the synthetic images have the same size, so nothing is resized.
RES = 64


@pytest.fixture(scope="session")
def refcoco_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/refcoco/refs(unc).p`` + ``instances.json`` + ``images/train2014/``: 6 train, 4 val images."""
    root = tmp_path_factory.mktemp("refcoco")
    write_synthetic_refer(root, "refcoco", num_train=6, num_val=4, seed=1, image_size=RES)
    return root


@pytest.fixture(scope="session")
def grefcoco_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/grefcoco/grefs(unc).json`` + ``instances.json`` + images: 6 train, 6 val images."""
    root = tmp_path_factory.mktemp("grefcoco")
    write_synthetic_refer(root, "grefcoco", num_train=6, num_val=6, seed=2, image_size=RES)
    return root


@pytest.fixture(scope="session")
def cocostuff_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/images|annotations/{train2017,val2017}/`` + ``labels.txt``: 6 train, 4 val landscapes."""
    root = tmp_path_factory.mktemp("cocostuff")
    write_synthetic_cocostuff(root, {"train2017": 6, "val2017": 4}, seed=1, image_size=RES)
    return root


def textured_scene(seed: int, colour: str, size: int = RES, polygon: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A textured scene with distractor patches (one in ``colour`` itself) and one object to mark, and its mask.

    The object (an ellipse, or with ``polygon`` a 7-gon) has a colour clearly different from ``colour`` (test
    requests pick such a colour, see ``contrast_colour``): where an object already has the overlay colour, the mark
    is invisible by construction. Sizes scale with ``size`` (64 px: the scenes of the README's round-trip table).
    """
    scale = size / RES
    rng = np.random.default_rng([seed, COLOUR_NAMES.index(colour)] + ([] if size == RES else [size]))
    pil = Image.fromarray(smooth_background(rng, size))
    draw = ImageDraw.Draw(pil)
    for k in range(3):
        x, y = rng.uniform(0, size - 12 * scale, 2)
        fill = COLOURS[colour] if k == 0 else tuple(int(v) for v in rng.integers(0, 256, 3))
        w, h = rng.uniform(5 * scale, 12 * scale), rng.uniform(5 * scale, 12 * scale)
        draw.rectangle([x, y, x + w, y + h], fill=fill)
    while True:
        body = rng.integers(0, 256, 3)
        if np.linalg.norm(body - np.asarray(COLOURS[colour])) >= 120:
            break
    cx, cy = rng.uniform(24 * scale, 40 * scale, 2)
    shape = Image.new("L", (size, size), 0)
    if polygon:
        angles, radii = np.sort(rng.uniform(0, 2 * np.pi, 7)), rng.uniform(7 * scale, 18 * scale, 7)
        corners = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a, r in zip(angles, radii, strict=True)]
        ImageDraw.Draw(shape).polygon(corners, fill=1)
    else:
        rx, ry = rng.uniform(11 * scale, 17 * scale, 2)
        ImageDraw.Draw(shape).ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=1)
    mask = np.asarray(shape, dtype=bool)
    image = np.asarray(pil).copy()
    image[mask] = np.clip(body + rng.normal(0, 8, (int(mask.sum()), 3)), 0, 255).astype(np.uint8)
    return image, mask


@pytest.fixture
def scene() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """:func:`textured_scene`: ``scene(seed, colour, size=64, polygon=False) -> (image, mask)``."""
    return textured_scene


def blur(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(0.8)))


def noise(image: np.ndarray) -> np.ndarray:
    return np.clip(image + np.random.default_rng(0).normal(0, 8, image.shape), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=75)
    return np.asarray(Image.open(buffer).convert("RGB"))


def tint(image: np.ndarray) -> np.ndarray:
    return np.clip(image.astype(np.int16) + np.array([12, -10, 8]), 0, 255).astype(np.uint8)


def model_output(image: np.ndarray) -> np.ndarray:
    """Gaussian blur (0.8 px), then Gaussian noise (sigma 8, seeded): what bench/decoders.py calls a model's output."""
    blurred = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float64)
    return np.clip(blurred + np.random.default_rng(0).normal(0, 8, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def artefacts() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """What a generated image suffers, by name: blur (Gaussian, 0.8 px), noise (Gaussian, sigma 8), JPEG (quality
    75, 4:2:0), tint (+12, -10, +8) and model (blur, then noise)."""
    return {"blur": blur, "noise": noise, "jpeg": jpeg, "tint": tint, "model": model_output}
