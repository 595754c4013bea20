from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from idiff_keypoints.decoding import decode_keypoints
from idiff_keypoints.encoding import (
    COLOUR_NAMES,
    COLOURS,
    disk_radius_for,
    encode_keypoints,
    validate_keypoint_counts,
)
from idiff_keypoints.layouts import COCO_KEYPOINT_NAMES
from idiff_keypoints.synthetic import synthetic_background

RES = 64


def _scene(seed: int, colour: str) -> tuple[np.ndarray, np.ndarray]:
    """A varied 64 px background that also contains a patch of ``colour``, and well-separated joints."""
    rng = np.random.default_rng(seed)
    img = np.asarray(synthetic_background(rng, RES)).copy()
    img[2:8, 50:60] = COLOURS[colour]  # the requested colour already present in the background
    kp = np.zeros((17, 3))
    grid = np.array([(x, y) for y in (14, 30, 46) for x in (12, 28, 44)], float)  # 9 well separated spots
    kp[:9, :2] = grid + rng.uniform(-2, 2, (9, 2))
    kp[:9, 2] = 2
    return img, kp


def _degrade(img: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(0.7)), np.float32)
    out += rng.normal(0, 6, out.shape) + rng.uniform(-15, 15, 3)
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("colour", COLOUR_NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roundtrip_each_colour(colour: str, seed: int) -> None:
    img, kp = _scene(seed, colour)
    others = [c for c in COLOUR_NAMES if c != colour][seed * 2 : seed * 2 + 3]
    cols = [colour, *others]
    joints = [0, 4, 8, 2][: len(cols)]
    enc = encode_keypoints(img, kp, COCO_KEYPOINT_NAMES, np.random.default_rng(seed), joints=joints, colours=cols)
    assert colour in enc.instruction
    for degrade, tol in ((False, 1.0), (True, 2.0)):
        gen = _degrade(enc.target, seed) if degrade else enc.target
        dec = decode_keypoints(gen, img, cols)
        err = np.linalg.norm(dec[:, :2] - kp[joints, :2], axis=1)
        assert err.max() < tol, (colour, degrade, err)
        assert (dec[:, 2] > 0.3).all()


def test_five_colours_at_once_and_identity_scores_zero() -> None:
    img, kp = _scene(5, "red")
    enc = encode_keypoints(img, kp, COCO_KEYPOINT_NAMES, np.random.default_rng(0), 5, 5)
    assert len(enc.joints) == 5 and len(set(enc.colours)) == 5
    dec = decode_keypoints(enc.target, img, enc.colours)
    assert np.abs(dec[:, :2] - kp[list(enc.joints), :2]).max() < 1.0
    ident = decode_keypoints(img, img, enc.colours)
    assert (ident[:, 2] == 0).all()
    np.testing.assert_allclose(ident[:, :2], (RES - 1) / 2)
    noisy = _degrade(img, 3)
    assert decode_keypoints(noisy, img, enc.colours)[:, 2].max() < 0.2


def test_invisible_joint_named_without_disk() -> None:
    img, kp = _scene(0, "red")
    kp[0, 2] = 0.5
    enc = encode_keypoints(img, kp, COCO_KEYPOINT_NAMES, np.random.default_rng(0), joints=[0], colours=["red"])
    assert "nose" in enc.instruction and enc.drawn == (False,)
    assert np.array_equal(enc.target, img)


def test_random_choice_only_labelled_joints_and_radius() -> None:
    img, kp = _scene(0, "red")
    rng = np.random.default_rng(0)
    for _ in range(50):
        enc = encode_keypoints(img, kp, COCO_KEYPOINT_NAMES, rng)
        assert 1 <= len(enc.joints) <= 5 and all(j < 9 for j in enc.joints)
        assert "left wrist" not in enc.instruction or 9 in enc.joints
    assert disk_radius_for(256) == 10.0 and disk_radius_for(64) == 2.5 and disk_radius_for(16) == 1.5


def test_max_keypoints_validated() -> None:
    with pytest.raises(ValueError, match="<= 9"):
        validate_keypoint_counts(1, 10)
    with pytest.raises(ValueError, match="min"):
        validate_keypoint_counts(3, 2)
