"""Top-down person crops and HRNet-style training augmentation.

PAPER.md "Encodings" -> Keypoints: training is top-down on person crops with HRNet augmentation:
scale +-0.35, rotation +-45 deg (p=0.6), horizontal flip 0.5 (with left/right joint swap), half-body 0.3.
The box -> (centre, square size) conversion pads the box by 1.25 as HRNet / mmpose do.

Coordinate convention: points are in pixel-index coordinates (the centre of pixel ``(i, j)`` is at
``x=i, y=j``), in the image and in the crop. A crop transform is a 2x3 affine ``M`` with
``crop_xy = M @ [x, y, 1]``; :func:`invert_affine` gives the map back to the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from idiff_keypoints.layouts import KeypointLayout

__all__ = [
    "Augmentation",
    "box_to_center_size",
    "crop_matrix",
    "flip_keypoints",
    "half_body_box",
    "invert_affine",
    "make_crop",
    "sample_augmentation",
    "transform_points",
    "warp_crop",
]

#: Box padding of HRNet / mmpose top-down crops.
BOX_PADDING = 1.25


def box_to_center_size(
    bbox: tuple[float, float, float, float], padding: float = BOX_PADDING
) -> tuple[np.ndarray, float]:
    """COCO ``[x, y, w, h]`` box -> (centre (2,), side of the padded square crop in image pixels)."""
    x, y, w, h = bbox
    center = np.array([x + (w - 1) * 0.5, y + (h - 1) * 0.5], dtype=np.float64)
    return center, float(max(w, h, 1.0) * padding)


def crop_matrix(
    center: np.ndarray, size: float, resolution: int, rotation: float = 0.0, flip: bool = False
) -> np.ndarray:
    """The 2x3 affine mapping image points into a ``resolution`` square crop.

    Args:
        center: crop centre in the image, (2,).
        size: side of the square crop region in image pixels (before rotation).
        resolution: crop side in pixels.
        rotation: rotation in degrees (counter-clockwise in the crop as displayed).
        flip: mirror the crop horizontally (about its centre column).

    Returns:
        float64 array (2, 3).
    """
    s = resolution / float(size)
    a = np.deg2rad(rotation)
    cos, sin = np.cos(a) * s, np.sin(a) * s
    lin = np.array([[cos, sin], [-sin, cos]])
    if flip:
        lin = np.diag([-1.0, 1.0]) @ lin
    c_out = np.full(2, (resolution - 1) * 0.5)
    return np.concatenate([lin, (c_out - lin @ np.asarray(center, np.float64))[:, None]], axis=1)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix, as a 2x3 matrix."""
    full = np.vstack([np.asarray(matrix, np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to points of shape (N, 2) (extra columns are ignored)."""
    pts = np.asarray(points, np.float64)[:, :2]
    return pts @ np.asarray(matrix, np.float64)[:, :2].T + np.asarray(matrix, np.float64)[:, 2]


def warp_crop(image: np.ndarray | Image.Image, matrix: np.ndarray, resolution: int, fill: int = 0) -> np.ndarray:
    """Warp an RGB image into the ``resolution`` crop given by ``matrix`` (bilinear, constant border).

    Args:
        image: uint8 (H, W, 3) array or PIL image.
        matrix: the 2x3 image->crop affine (pixel-index convention).
        resolution: crop side.
        fill: border grey level.

    Returns:
        uint8 array (resolution, resolution, 3).
    """
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.ascontiguousarray(image))
    pil = pil.convert("RGB")
    inv = invert_affine(matrix)
    # PIL samples pixel centres at i + 0.5: conjugate the pixel-index affine with that half-pixel shift.
    shift = inv[:, :2] @ np.array([-0.5, -0.5]) + inv[:, 2] + 0.5
    coeffs = (inv[0, 0], inv[0, 1], shift[0], inv[1, 0], inv[1, 1], shift[1])
    out = pil.transform(
        (resolution, resolution),
        Image.Transform.AFFINE,
        coeffs,
        resample=Image.Resampling.BILINEAR,
        fillcolor=(fill, fill, fill),
    )
    return np.asarray(out, dtype=np.uint8)


def flip_keypoints(keypoints: np.ndarray, layout: KeypointLayout) -> np.ndarray:
    """Swap left/right joints after a horizontal flip (coordinates must already be mirrored)."""
    return np.asarray(keypoints)[layout.flip_permutation()].copy()


def half_body_box(
    keypoints: np.ndarray, layout: KeypointLayout, rng: np.random.Generator, min_joints: int = 2
) -> tuple[float, float, float, float] | None:
    """Box around the upper or the lower body's labelled joints (HRNet half-body augmentation).

    Returns:
        ``[x, y, w, h]`` enlarged by 1.5 (HRNet), or ``None`` when the chosen half has too few joints.
    """
    labelled = keypoints[:, 2] > 0
    upper, lower = layout.upper_body(), layout.lower_body()
    halves = [upper, lower] if rng.random() < 0.5 else [lower, upper]
    for half in halves:
        sel = half[labelled[half]] if len(half) else half
        if len(sel) >= min_joints:
            pts = keypoints[sel, :2]
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            c = (lo + hi) / 2.0
            wh = np.maximum(hi - lo, 1.0) * 1.5
            return (float(c[0] - wh[0] / 2), float(c[1] - wh[1] / 2), float(wh[0]), float(wh[1]))
    return None


@dataclass(frozen=True)
class Augmentation:
    """One random draw of the training augmentation.

    Attributes:
        scale: multiplier of the crop side.
        rotation: degrees.
        flip: horizontal flip (joints are swapped left/right).
        half_body: replace the person box by a half-body box.
    """

    scale: float = 1.0
    rotation: float = 0.0
    flip: bool = False
    half_body: bool = False


def sample_augmentation(
    rng: np.random.Generator,
    scale_factor: float = 0.35,
    rotation_factor: float = 45.0,
    rotation_prob: float = 0.6,
    flip_prob: float = 0.5,
    half_body_prob: float = 0.3,
) -> Augmentation:
    """Draw an :class:`Augmentation` (HRNet: normal draws with sd = factor, clipped to +-factor)."""
    scale = float(np.clip(1.0 + rng.normal() * scale_factor, 1.0 - scale_factor, 1.0 + scale_factor))
    rot = float(np.clip(rng.normal() * rotation_factor, -rotation_factor, rotation_factor))
    return Augmentation(
        scale=scale,
        rotation=rot if rng.random() < rotation_prob else 0.0,
        flip=bool(rng.random() < flip_prob),
        half_body=bool(rng.random() < half_body_prob),
    )


def make_crop(
    image: np.ndarray | Image.Image,
    bbox: tuple[float, float, float, float],
    keypoints: np.ndarray,
    resolution: int,
    layout: KeypointLayout,
    aug: Augmentation | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop one person (optionally augmented) and move its joints into the crop.

    Joints that land outside the crop get visibility 0 (dropped: treated as unlabelled).

    Args:
        image: the full RGB image.
        bbox: the person's ``[x, y, w, h]``.
        keypoints: (K, 3) ``(x, y, v)`` in image pixels.
        resolution: crop side.
        layout: for the flip permutation and half-body joint sets.
        aug: augmentation to apply; ``None`` = plain centre crop.
        rng: needed when ``aug.half_body`` is set.

    Returns:
        (crop uint8 (R, R, 3), keypoints (K, 3) in crop pixels, image->crop matrix (2, 3)).
    """
    aug = aug or Augmentation()
    box = bbox
    if aug.half_body:
        hb = half_body_box(keypoints, layout, rng if rng is not None else np.random.default_rng(0))
        box = hb if hb is not None else bbox
    center, size = box_to_center_size(box)
    matrix = crop_matrix(center, size * aug.scale, resolution, aug.rotation, aug.flip)
    crop = warp_crop(image, matrix, resolution)
    kp = np.asarray(keypoints, np.float64).copy()
    kp[:, :2] = transform_points(kp, matrix)
    if aug.flip:
        kp = flip_keypoints(kp, layout)
    inside = (kp[:, 0] >= 0) & (kp[:, 0] <= resolution - 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= resolution - 1)
    kp[~inside, 2] = 0.0
    return crop, kp, matrix
