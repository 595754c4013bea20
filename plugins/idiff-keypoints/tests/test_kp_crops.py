from __future__ import annotations

import numpy as np

from idiff_keypoints.crops import (
    Augmentation,
    box_to_center_size,
    crop_matrix,
    invert_affine,
    make_crop,
    sample_augmentation,
    transform_points,
    warp_crop,
)
from idiff_keypoints.layouts import coco_person_layout


def test_forward_inverse_roundtrip() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 200, (50, 2))
    for rot, flip in ((0.0, False), (33.0, True), (-45.0, False)):
        m = crop_matrix(np.array([90.0, 110.0]), 87.5, 64, rot, flip)
        back = transform_points(transform_points(pts, m), invert_affine(m))
        assert np.abs(back - pts).max() < 1e-4


def test_box_center_size() -> None:
    c, s = box_to_center_size((10, 20, 30, 60))
    np.testing.assert_allclose(c, [24.5, 49.5])
    assert s == 75.0


def test_warp_moves_pixels_like_points() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    img[39:42, 69:72] = 255  # a 3x3 blob centred on (70, 40)
    m = crop_matrix(np.array([55.0, 45.0]), 40.0, 64, rotation=30.0)
    crop = warp_crop(img, m, 64)
    x, y = transform_points(np.array([[70.0, 40.0]]), m)[0]
    yy, xx = np.nonzero(crop[..., 0])
    w = crop[yy, xx, 0].astype(float)
    assert abs((xx * w).sum() / w.sum() - x) < 0.3 and abs((yy * w).sum() / w.sum() - y) < 0.3


def test_flip_swaps_left_right() -> None:
    lay = coco_person_layout()
    img = np.zeros((64, 64, 3), np.uint8)
    kp = np.zeros((17, 3))
    kp[:, 2] = 2
    kp[:, 0] = 32
    kp[:, 1] = np.arange(17) + 20
    kp[9, 0], kp[10, 0] = 40, 24  # left wrist on the image right, right wrist on the left
    plain = make_crop(img, (0, 0, 64, 64), kp, 64, lay)[1]
    flipped = make_crop(img, (0, 0, 64, 64), kp, 64, lay, Augmentation(flip=True))[1]
    # after the flip the joint now called "left wrist" is the old right wrist, mirrored
    assert abs(flipped[9, 0] - (63 - plain[10, 0])) < 1e-6 and flipped[9, 1] == plain[10, 1]
    assert abs(flipped[10, 0] - (63 - plain[9, 0])) < 1e-6
    assert flipped[0, 0] == 63 - plain[0, 0]


def test_outside_joints_dropped_and_augment_ranges() -> None:
    lay = coco_person_layout()
    kp = np.zeros((17, 3))
    kp[:, :2] = 50
    kp[:, 2] = 2
    kp[3, :2] = (500, 500)
    _, out, _ = make_crop(np.zeros((100, 100, 3), np.uint8), (30, 30, 40, 40), kp, 32, lay)
    assert out[3, 2] == 0 and (out[np.arange(17) != 3, 2] == 2).all()
    rng = np.random.default_rng(0)
    augs = [sample_augmentation(rng) for _ in range(500)]
    assert all(0.65 <= a.scale <= 1.35 and abs(a.rotation) <= 45 for a in augs)
    assert 0.3 < np.mean([a.flip for a in augs]) < 0.7
    assert 0.15 < np.mean([a.half_body for a in augs]) < 0.45
