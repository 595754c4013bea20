"""A small synthetic keypoint dataset of stick figures, written in a real annotation format and layout.

By default writes ``<root>/<split>/<%012d>.png`` and ``<root>/annotations/person_keypoints_<split>.json`` with the
fields of COCO "Object Keypoint" annotations (``images``; ``annotations`` with id, image_id,
category_id=1, bbox [x, y, w, h], area (figure pixel count), iscrowd=0, num_keypoints, keypoints
[x, y, v]*17; ``categories`` with the 17 COCO names and the COCO skeleton), so the same reader and
COCOeval path serve the synthetic and the real data (PAPER.md "Evaluation protocols"). Any catalogue layout
(:mod:`idiff_keypoints.catalogue`: CrowdPose, AP-10K with two species categories, HumanArt ...) can be written the
same way, and the AIC and MPII formats from the same figures (JPEG images, as those releases ship); the figure's
joints become the layout's through :func:`figure_points`.

Figures are front-facing stick people (the person's left is on the image right, the face shows eyes and
nose): a head disk with eyes, nose and ears, a filled torso, and limbs drawn thick with a dark outline.
Left and right limbs get two distinct shades, assigned to the sides at random per figure, so limbs are
told apart by colour while the side follows from the (flip-consistent) geometry. Poses: random torso
tilt, limb and bend angles in plausible ranges; 1-2 people per image in separate vertical strips (little
overlap) over backgrounds of gradients, smooth noise textures and random shapes. Deterministic per seed.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from idiff.files import atomic_write, atomic_write_json, atomic_write_png
from PIL import Image, ImageDraw

from idiff_keypoints.aic import coco_to_aic
from idiff_keypoints.catalogue import named_layout
from idiff_keypoints.coco import DEFAULT_ANNOTATION_PATTERN, annotation_path
from idiff_keypoints.layouts import COCO_KEYPOINT_NAMES, KeypointLayout, normalise_joint_name
from idiff_keypoints.mpii import coco_to_mpii
from idiff_keypoints.readers import FORMAT_LAYOUTS

__all__ = [
    "figure_points",
    "render_figure",
    "sample_pose",
    "synthetic_background",
    "write_synthetic_coco",
    "write_synthetic_keypoints",
]

_LIMB_SHADES = ((235, 120, 20), (40, 90, 230), (230, 40, 140), (20, 170, 90), (200, 200, 30), (140, 60, 210))
_OUTLINE = (20, 20, 20)


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def sample_pose(rng: np.random.Generator, height: float) -> tuple[np.ndarray, float]:
    """Random front-facing pose of a figure ``height`` pixels tall, pelvis at the origin (y down).

    Returns:
        (joints (17, 2) in COCO order, head radius).
    """
    h = height
    hr = 0.075 * h
    tilt = rng.uniform(-20, 20)
    up = _rot(np.array([0.0, -1.0]), tilt)
    side = _rot(np.array([1.0, 0.0]), tilt)  # toward the person's left (image right)
    neck = up * 0.30 * h
    head = neck + up * (0.04 * h + hr)
    j = np.zeros((17, 2))
    yaw = rng.uniform(-0.3, 0.3) * hr
    j[0] = head - up * 0.3 * hr + side * yaw  # nose
    j[1] = head + side * (0.4 * hr + yaw) + up * 0.15 * hr  # left eye
    j[2] = head - side * (0.4 * hr - yaw) + up * 0.15 * hr  # right eye
    j[3] = head + side * hr  # left ear
    j[4] = head - side * hr  # right ear
    down = -up
    for sgn, (sh, el, wr) in ((1, (5, 7, 9)), (-1, (6, 8, 10))):
        j[sh] = neck + side * sgn * 0.11 * h
        a1 = rng.uniform(-30, 170)
        d1 = _rot(down, -sgn * a1)
        j[el] = j[sh] + d1 * 0.16 * h
        j[wr] = j[el] + _rot(d1, rng.uniform(-140, 140)) * 0.15 * h
    for sgn, (hp, kn, an) in ((1, (11, 13, 15)), (-1, (12, 14, 16))):
        j[hp] = side * sgn * 0.07 * h
        d1 = _rot(down, -sgn * rng.uniform(-15, 45))
        j[kn] = j[hp] + d1 * 0.23 * h
        j[an] = j[kn] + _rot(d1, rng.uniform(-60, 60)) * 0.23 * h
    return j, hr


def _line(draws: list[ImageDraw.ImageDraw], a: np.ndarray, b: np.ndarray, colour: tuple, width: float) -> None:
    w = max(int(round(width)), 1)
    dr, mask = draws
    for d, c, extra in ((dr, _OUTLINE, 2), (dr, colour, 0), (mask, 255, 2)):
        d.line([tuple(a), tuple(b)], fill=c, width=w + extra)
        r = (w + extra) / 2.0
        for p in (a, b):
            d.ellipse([p[0] - r, p[1] - r, p[0] + r, p[1] + r], fill=c)


def _disk(draws: list[ImageDraw.ImageDraw], c: np.ndarray, r: float, colour: tuple, outline: bool = True) -> None:
    dr, mask = draws
    box = [c[0] - r, c[1] - r, c[0] + r, c[1] + r]
    dr.ellipse(box, fill=colour, outline=_OUTLINE if outline else None, width=1)
    mask.ellipse(box, fill=255)


def render_figure(
    image: Image.Image, mask: Image.Image, joints: np.ndarray, hr: float, height: float, rng: np.random.Generator
) -> None:
    """Draw a stick person with ``joints`` (17, 2, image pixels) onto ``image``; its pixels onto ``mask``."""
    draws = [ImageDraw.Draw(image), ImageDraw.Draw(mask)]
    shades = rng.permutation(len(_LIMB_SHADES))[:2]
    left, right = _LIMB_SHADES[shades[0]], _LIMB_SHADES[shades[1]]
    torso_c = tuple(int(v) for v in rng.integers(60, 200, 3))
    limb_w, leg_w = 0.05 * height, 0.06 * height
    for a, b, c, w in ((11, 13, left, leg_w), (13, 15, left, leg_w), (12, 14, right, leg_w), (14, 16, right, leg_w)):
        _line(draws, joints[a], joints[b], c, w)
    torso = [tuple(joints[i]) for i in (5, 6, 12, 11)]
    draws[0].polygon(torso, fill=torso_c, outline=_OUTLINE)
    draws[1].polygon(torso, fill=255)
    for a, b, c in ((5, 7, left), (7, 9, left), (6, 8, right), (8, 10, right)):
        _line(draws, joints[a], joints[b], c, limb_w)
    head = (joints[3] + joints[4]) / 2.0
    skin = tuple(int(v) for v in np.array([225, 190, 160]) * rng.uniform(0.6, 1.05))
    for e in (3, 4):
        _disk(draws, joints[e], 0.3 * hr, skin)
    _disk(draws, head, hr, skin)
    for e in (1, 2):
        _disk(draws, joints[e], max(0.15 * hr, 0.8), (10, 10, 40), outline=False)
    _disk(draws, joints[0], max(0.15 * hr, 0.8), (170, 30, 30), outline=False)


def synthetic_background(rng: np.random.Generator, size: int) -> Image.Image:
    """Random background: gradient + smooth noise + random shapes + fine noise, muted colours."""
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    a = rng.uniform(0, 2 * np.pi)
    t = np.cos(a) * xx + np.sin(a) * yy
    t = (t - t.min()) / max(np.ptp(t), 1e-6)
    c0, c1 = rng.uniform(40, 220, 3), rng.uniform(40, 220, 3)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    coarse = rng.normal(0, 25, (6, 6, 3)).astype(np.float32)
    smooth = np.asarray(Image.fromarray(coarse[..., 0]).resize((size, size), Image.Resampling.BICUBIC))
    img += smooth[..., None] * rng.uniform(0.3, 1.0, 3)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(2, 8))):
        c = tuple(int(v) for v in (rng.uniform(0, 255, 3) * 0.6 + 50))
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.05, 0.4, 2) * size
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x0 + w, y0 + h], fill=c)
    arr = np.asarray(pil, np.float32) + rng.normal(0, rng.uniform(2, 8), (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _place(rng: np.random.Generator, size: int, x_lo: float, x_hi: float) -> tuple[np.ndarray, float, float]:
    height = rng.uniform(0.5, 0.85) * size
    joints, hr = sample_pose(rng, height)
    pad = 0.04 * height + 2
    lo = np.minimum(joints.min(0), joints[[3, 4]].mean(0) - hr) - pad
    hi = np.maximum(joints.max(0), joints[[3, 4]].mean(0) + hr) + pad
    fit = min(1.0, (x_hi - x_lo) / (hi[0] - lo[0]), size / (hi[1] - lo[1]))
    joints, hr, height, lo, hi = joints * fit, hr * fit, height * fit, lo * fit, hi * fit
    ox = rng.uniform(x_lo - lo[0], max(x_hi - hi[0], x_lo - lo[0]))
    oy = rng.uniform(-lo[1], max(size - hi[1], -lo[1]))
    return joints + np.array([ox, oy]), hr, height


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def figure_points(joints: np.ndarray, hr: float) -> dict[str, np.ndarray]:
    """Every catalogue joint of a drawn figure, by normalised name, from its 17 COCO joints and head radius.

    Head top, neck (the shoulders' midpoint; MPII's thorax), upper neck (the bottom of the head) and pelvis are
    placed on the drawing; AP-10K's paws are the wrists and ankles, its root of tail the pelvis.
    """
    points = {name: joints[i] for i, name in enumerate(COCO_KEYPOINT_NAMES)}
    head = (joints[3] + joints[4]) / 2.0
    neck = (joints[5] + joints[6]) / 2.0
    up = _unit(head - neck)
    pelvis = (joints[11] + joints[12]) / 2.0
    points.update(
        head=head + up * hr, head_top=head + up * hr, neck=neck, thorax=neck, upper_neck=head - up * hr,
        pelvis=pelvis, root_of_tail=pelvis, left_front_paw=joints[9], right_front_paw=joints[10],
        left_back_paw=joints[15], right_back_paw=joints[16],
    )
    return points


def _layout_points(joints: np.ndarray, hr: float, layout: KeypointLayout) -> np.ndarray:
    points = figure_points(joints, hr)
    return np.stack([points[normalise_joint_name(n)] for n in layout.names])


def _categories(layout_name: str, layout: KeypointLayout) -> list[dict[str, Any]]:
    if layout_name == "ap10k":  # AP-10K has one category per species, all in one layout
        return [layout.to_category(1, "dog") | {"supercategory": "Canidae"},
                layout.to_category(2, "cat") | {"supercategory": "Felidae"}]
    return [layout.to_category(1, "person")]


def write_synthetic_keypoints(
    root: Path | str,
    split: str,
    num_images: int,
    seed: int = 0,
    image_size: int = 128,
    pattern: str = DEFAULT_ANNOTATION_PATTERN,
    image_dir: str = "{split}",
    layout: str = "coco",
    fmt: str = "coco",
) -> Path:
    """Write ``num_images`` synthetic images of 1-2 stick figures and their annotations in a real format.

    Args:
        root: dataset root.
        split: split name (substituted in ``pattern`` and ``image_dir``).
        num_images: number of images.
        seed: random seed (the split name is mixed in, so splits differ for one seed).
        image_size: square image side.
        pattern: annotation path pattern relative to ``root``.
        image_dir: image folder pattern relative to ``root``.
        layout: catalogue layout of the joints (``auto`` = ``coco``; AIC and MPII files take their own).
        fmt: ``coco`` (PNG images), ``aic`` or ``mpii`` (JPEG images, as released).

    Returns:
        The annotation file written.
    """
    root = Path(root)
    img_dir = root / image_dir.format(split=split)
    img_dir.mkdir(parents=True, exist_ok=True)
    layout = FORMAT_LAYOUTS.get(fmt, "coco" if layout == "auto" else layout)
    kp_layout = named_layout(layout)
    k, suffix = kp_layout.num_joints, ".png" if fmt == "coco" else ".jpg"
    categories = _categories(layout, kp_layout)
    rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for i in range(1, num_images + 1):
        img = synthetic_background(rng, image_size)
        n = 1 if rng.random() < 0.5 else 2
        for p in range(n):
            mask = Image.new("L", (image_size, image_size), 0)
            joints, hr, height = _place(rng, image_size, p * image_size / n, (p + 1) * image_size / n)
            render_figure(img, mask, joints, hr, height, rng)
            m = np.asarray(mask) > 0
            ys, xs = np.nonzero(m)
            points = _layout_points(joints, hr, kp_layout)
            inside = (points >= 0).all(1) & (points <= image_size - 1).all(1)
            kp = np.zeros((k, 3))
            kp[inside, :2], kp[inside, 2] = np.round(points[inside], 2), 2
            x0, y0 = float(xs.min()), float(ys.min())
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": categories[len(anns) % len(categories)]["id"],
                    "iscrowd": 0,
                    "bbox": [x0, y0, float(xs.max() - x0 + 1), float(ys.max() - y0 + 1)],
                    "area": float(m.sum()),
                    "num_keypoints": int(inside.sum()),
                    "keypoints": [float(v) if j % 3 < 2 else int(v) for j, v in enumerate(kp.reshape(-1))],
                }
            )
        name = f"{i:012d}{suffix}"
        if suffix == ".png":
            atomic_write_png(img_dir / name, np.asarray(img))
        else:
            atomic_write(img_dir / name, lambda handle, img=img: img.save(handle, format="JPEG", quality=95))
        images.append({"id": i, "file_name": name, "width": image_size, "height": image_size})
    description = f"idiff-keypoints synthetic stick people, seed {seed}" + ("" if layout == "coco" else f", {layout}")
    data: Any = {
        "info": {"description": description, "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": categories,
    }
    data = {"coco": lambda d: d, "aic": coco_to_aic, "mpii": coco_to_mpii}[fmt](data)
    path = annotation_path(root, split, pattern)
    atomic_write_json(path, data)
    json.loads(path.read_text())  # fail loudly here if the file is not readable back
    return path


#: Stick people in the COCO-17 layout and COCO format: :func:`write_synthetic_keypoints` with its defaults.
write_synthetic_coco = write_synthetic_keypoints
