from __future__ import annotations

import numpy as np
import pytest

from idiff_keypoints.layouts import (
    COCO_KEYPOINT_NAMES,
    DEFAULT_UNKNOWN_SIGMA,
    KeypointLayout,
    LayoutError,
    coco_person_layout,
    flip_pairs_from_names,
    human_readable,
)


def test_coco_layout() -> None:
    lay = coco_person_layout()
    assert lay.num_joints == 17
    assert len(lay.flip_pairs) == 8
    assert (1, 2) in lay.flip_pairs and (15, 16) in lay.flip_pairs
    np.testing.assert_allclose(lay.sigma_array[:3], [0.026, 0.025, 0.025])
    perm = lay.flip_permutation()
    assert perm[0] == 0 and perm[9] == 10 and perm[10] == 9
    assert set(lay.upper_body()) == set(range(11)) and set(lay.lower_body()) == set(range(11, 17))


def test_from_category_roundtrip_and_unknown_sigmas() -> None:
    cat = coco_person_layout().to_category()
    assert KeypointLayout.from_category(cat).sigmas == coco_person_layout().sigmas
    other = KeypointLayout.from_category({"id": 3, "keypoints": ["head", "left_paw", "right_paw"]})
    assert other.sigmas == (DEFAULT_UNKNOWN_SIGMA,) * 3
    assert other.flip_pairs == ((1, 2),)
    custom = KeypointLayout.from_category({"keypoints": ["a", "b"]}, sigmas=[0.1, 0.2])
    assert custom.sigmas == (0.1, 0.2)


def test_layout_errors() -> None:
    with pytest.raises(LayoutError, match="f.json.*'keypoints'"):
        KeypointLayout.from_category({"id": 1, "name": "person"}, source="f.json")
    with pytest.raises(LayoutError, match="skeleton"):
        KeypointLayout.from_category({"keypoints": ["a", "b"], "skeleton": [[1, 3]]})
    with pytest.raises(LayoutError, match="sigmas"):
        KeypointLayout.from_category({"keypoints": ["a", "b"]}, sigmas=[0.1])


def test_names() -> None:
    assert human_readable("left_wrist") == "left wrist"
    assert flip_pairs_from_names(COCO_KEYPOINT_NAMES)[0] == (1, 2)
