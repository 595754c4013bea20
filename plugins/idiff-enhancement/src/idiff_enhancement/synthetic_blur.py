"""A small synthetic GoPro and REDS: video frames blurred by averaging sub-frames along a shaking camera path.

GoPro's convention (Nah et al., CVPR 2017): a blurred frame is the average of 7-13 consecutive sharp frames of a
240 fps video and the sharp ground truth is the middle one. ``blur`` averages the stored gamma-encoded frames,
``blur_gamma`` averages in linear light (gamma 2.2) and encodes the mean, which is closer to how a sensor
integrates light; REDS averages in linear light too. This module follows the same recipe on procedural scenes:

- a sequence is one scene (:mod:`idiff_enhancement.scenes`) seen by a camera whose position follows a damped
  random oscillation (hand shake: an Ornstein-Uhlenbeck-like process, spring period ~125 sub-frames, damping 0.3),
  rescaled to a mean speed drawn per sequence (0.2-0.8 px per sub-frame: 1-10 px of blur per frame, 2-15% of a
  64 px training crop, as GoPro's 10-40 px are of a 256 px one), plus a foreground object (1-2 shapes) on its own
  such path (0-0.8 px per sub-frame relative to the scene), so blur differs between object and background;
- each frame takes the next 7, 9, 11 or 13 sub-frames (odd, so the middle one is the temporal centre of the
  average); sub-frames are rendered by bilinear sampling of the background and
  the premultiplied object layer in linear light at sub-pixel offsets, the middle one snapped to whole pixels so
  the sharp frame is not resampled;
- per frame it writes ``sharp`` (the middle sub-frame), ``blur`` (mean of the encoded sub-frames) and
  ``blur_gamma`` (encoded mean of the linear sub-frames).

Global translation plus one moving object is a simplification: GoPro's blur also comes from rotation, depth and
deforming objects. Layouts: :mod:`idiff_enhancement.gopro`; every dataset folder is written staged (complete or not at
all). Deterministic per seed.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from idiff_enhancement.gamma import GAMMA, to_linear, to_uint8
from idiff_enhancement.images import write_rgb
from idiff_enhancement.scenes import render_scene
from idiff_enhancement.staging import staged_directory

__all__ = [
    "BlurredFrame",
    "blur_sequence",
    "shake_path",
    "shifted_crop",
    "write_synthetic_gopro",
    "write_synthetic_reds",
]

#: Sub-frames averaged per blurred frame (GoPro: 7-13; odd counts have a middle frame).
SUBFRAMES: tuple[int, ...] = (7, 9, 11, 13)


@dataclass(frozen=True)
class BlurredFrame:
    """One frame: the sharp middle sub-frame, the encoded-space average and the linear-light average (uint8)."""

    sharp: np.ndarray
    blur: np.ndarray
    blur_gamma: np.ndarray


def shake_path(rng: np.random.Generator, steps: int, mean_speed: float) -> np.ndarray:
    """(steps, 2) positions of a damped random oscillation, rescaled to ``mean_speed`` pixels per step."""
    omega, damping = 2 * math.pi / 125, 0.3
    position, velocity = np.zeros(2), rng.normal(0, 1, 2)
    path = np.zeros((steps, 2))
    for t in range(steps):
        velocity += -(omega**2) * position - 2 * damping * omega * velocity + rng.normal(0, 0.1, 2)
        position = position + velocity
        path[t] = position
    speed = np.linalg.norm(np.diff(path, axis=0), axis=1).mean() if steps > 1 else 1.0
    return (path - path[0]) * (mean_speed / max(float(speed), 1e-9))


def shifted_crop(canvas: np.ndarray, y: float, x: float, height: int, width: int) -> np.ndarray:
    """The ``height`` x ``width`` window of ``canvas`` at sub-pixel offset (y, x), bilinearly interpolated."""
    y0, x0 = math.floor(y), math.floor(x)
    fy, fx = y - y0, x - x0
    c = canvas[y0 : y0 + height + 1, x0 : x0 + width + 1]
    top = (1 - fx) * c[:height, :width] + fx * c[:height, 1 : width + 1]
    bottom = (1 - fx) * c[1 : height + 1, :width] + fx * c[1 : height + 1, 1 : width + 1]
    return (1 - fy) * top + fy * bottom


def _object_layer(rng: np.random.Generator, height: int, width: int, margin: int) -> np.ndarray:
    """Premultiplied linear RGB + alpha (H + 2m, W + 2m, 4) holding 1-2 textured shapes near the middle."""
    size = (width + 2 * margin, height + 2 * margin)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(int(rng.integers(1, 3))):
        cx, cy = margin + rng.uniform(0.2, 0.8) * width, margin + rng.uniform(0.2, 0.8) * height
        r = rng.uniform(0.08, 0.2) * min(height, width)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([cx - r, cy - r, cx + r, cy + r], fill=255)
    alpha = np.asarray(mask, np.float64)[..., None] / 255.0
    texture = to_linear(render_scene(rng, size[1], size[0]))
    return np.concatenate([texture * alpha, alpha], axis=2)


def _snap(path: np.ndarray, middle: int) -> np.ndarray:
    return path - (path[middle] - np.floor(path[middle]))


def blur_sequence(rng: np.random.Generator, frames: int, height: int, width: int) -> list[BlurredFrame]:
    """``frames`` consecutive blurred / sharp frames of one random scene (see the module docstring)."""
    counts = [int(rng.choice(SUBFRAMES)) for _ in range(frames)]
    steps = sum(counts)
    camera = shake_path(rng, steps, rng.uniform(0.2, 0.8))
    motion = shake_path(rng, steps, rng.uniform(0.0, 0.8))
    margin = int(np.ceil(max(np.abs(camera).max(), np.abs(camera - motion).max()))) + 3
    background = to_linear(render_scene(rng, height + 2 * margin, width + 2 * margin))
    layer = _object_layer(rng, height, width, margin)
    result, start = [], 0
    for count in counts:
        middle = count // 2
        cam = _snap(camera[start : start + count], middle)
        obj = _snap(camera[start : start + count] - motion[start : start + count], middle)
        linear = []
        for (cy, cx), (oy, ox) in zip(cam, obj, strict=True):
            frame = shifted_crop(background, margin + cy, margin + cx, height, width)
            over = shifted_crop(layer, margin + oy, margin + ox, height, width)
            linear.append(frame * (1 - over[..., 3:]) + over[..., :3])
        stack = np.clip(np.stack(linear), 0.0, 1.0)
        encoded = stack ** (1.0 / GAMMA) * 255.0
        result.append(
            BlurredFrame(
                sharp=to_uint8(stack[middle]),
                blur=np.round(encoded.mean(0)).astype(np.uint8),
                blur_gamma=to_uint8(stack.mean(0)),
            )
        )
        start += count
    return result


def _sequences(total: int, per_sequence: int) -> list[int]:
    return [min(per_sequence, total - start) for start in range(0, total, per_sequence)]


def write_synthetic_gopro(
    root: Path | str, splits: Mapping[str, int], seed: int = 0, width: int = 128, frames_per_sequence: int = 20
) -> Path:
    """Write ``{split: frames}`` in the GoPro layout under ``root`` (``GOPRO_Large``), 16:9 frames ``width`` wide.

    Sequences are named ``GOPR<nnnn>_<kk>_00``, frames ``<nnnnnn>.png``; each frame goes to ``blur``, ``blur_gamma``
    and ``sharp``.
    """
    height = max(16, round(width * 9 / 16))
    root = Path(root)
    with staged_directory(root) as staging:
        for split, total in splits.items():
            rng = np.random.default_rng([seed, zlib.crc32(f"gopro/{split}".encode())])
            for k, frames in enumerate(_sequences(total, frames_per_sequence)):
                folder = staging / split / f"GOPR{372 + k:04d}_{k % 100:02d}_00"
                for i, frame in enumerate(blur_sequence(rng, frames, height, width), start=1):
                    for kind in ("blur", "blur_gamma", "sharp"):
                        write_rgb(folder / kind / f"{i:06d}.png", getattr(frame, kind), atomic=False)
    return root


def write_synthetic_reds(
    root: Path | str,
    splits: Mapping[str, int],
    seed: int = 0,
    width: int = 128,
    frames_per_sequence: int = 20,
    blur_pattern: str = "{split}/{split}_blur",
    sharp_pattern: str = "{split}/{split}_sharp",
) -> Path:
    """Write ``{split: frames}`` in the REDS layout under ``root``: ``<blur_pattern>/<nnn>/<8 digits>.png`` and
    likewise under ``sharp_pattern`` (``{split}`` substituted). The blurred frames are linear-light averages, as REDS's.
    """
    height = max(16, round(width * 9 / 16))
    root = Path(root)
    with staged_directory(root) as staging:
        for split, total in splits.items():
            rng = np.random.default_rng([seed, zlib.crc32(f"reds/{split}".encode())])
            blur_dir = staging / blur_pattern.format(split=split)
            sharp_dir = staging / sharp_pattern.format(split=split)
            for k, frames in enumerate(_sequences(total, frames_per_sequence)):
                for i, frame in enumerate(blur_sequence(rng, frames, height, width)):
                    write_rgb(blur_dir / f"{k:03d}" / f"{i:08d}.png", frame.blur_gamma, atomic=False)
                    write_rgb(sharp_dir / f"{k:03d}" / f"{i:08d}.png", frame.sharp, atomic=False)
    return root
