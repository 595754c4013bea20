"""Box extraction on marks drawn by hand: the boxes are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from idiff_detection.boxes import boxes_from_mark, decode_boxes, mark_strength
from idiff_detection.marks import COLOURS


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A textured 64 x 64 source and, by hand, a red mark (0.5 * pixel + 0.5 * red) over four regions."""
    rng = np.random.default_rng(0)
    source = np.clip(rng.normal(110, 12, (64, 64, 3)), 0, 255).astype(np.uint8)
    region = np.zeros((64, 64), dtype=bool)
    region[5:15, 10:30] = True  # rectangle: x 10..29, y 5..14
    region[40:56, 40:44] = True  # an L: x 40..43, y 40..55 ...
    region[52:56, 40:61] = True  # ... and x 40..60, y 52..55
    yy, xx = np.mgrid[0:64, 0:64]
    region |= (xx - 12) ** 2 + (yy - 45) ** 2 <= 36  # disk of radius 6 at (12, 45): x 6..18, y 39..51
    region[30, 50:52] = True  # a 2-pixel speck
    generated = source.copy()
    generated[region] = ((source[region].astype(int) + np.array([255, 0, 0])) // 2).astype(np.uint8)
    return source, generated


EXPECTED = {(10, 5, 20, 10), (40, 40, 21, 16), (6, 39, 13, 13)}


def test_boxes_of_hand_made_marks_are_exact() -> None:
    source, generated = _scene()
    boxes = decode_boxes(generated, source, "red", min_area=4)
    assert {tuple(int(v) for v in b[:4]) for b in boxes} == EXPECTED
    assert np.all(boxes[:, 4] > 0.95)  # a clean mark scores about 1
    with_speck = decode_boxes(generated, source, "red", min_area=1)
    assert (50, 30, 2, 1) in {tuple(int(v) for v in b[:4]) for b in with_speck}


def test_boxes_survive_noise_and_ignore_other_colours() -> None:
    source, generated = _scene()
    noisy = np.clip(generated + np.random.default_rng(1).normal(0, 8, generated.shape), 0, 255).astype(np.uint8)
    assert {tuple(int(v) for v in b[:4]) for b in decode_boxes(noisy, source, "red", min_area=4)} == EXPECTED
    assert len(decode_boxes(generated, source, "blue", min_area=4)) == 0
    assert len(decode_boxes(source, source, "red")) == 0  # nothing drawn, nothing found


def test_a_source_already_in_the_colour_shows_no_mark() -> None:
    source = np.full((16, 16, 3), COLOURS["red"], dtype=np.uint8)
    strength = mark_strength(source, source, "red")
    assert np.isneginf(strength).all()
    assert len(decode_boxes(source, source, "red")) == 0


def test_regions_touching_at_a_corner_are_one_box() -> None:
    marked = np.zeros((10, 10), dtype=bool)
    marked[1:4, 1:4] = True
    marked[4:7, 4:7] = True  # touches the first one diagonally: one 8-connected region
    marked[8:10, 0:2] = True
    boxes = boxes_from_mark(marked)
    assert sorted(tuple(int(v) for v in b[:4]) for b in boxes) == [(0, 8, 2, 2), (1, 1, 6, 6)]
    assert np.all(boxes[:, 4] == 1.0)


def test_scores_rank_a_faint_mark_lower() -> None:
    source, generated = _scene()
    faint = source.astype(float)
    faint[5:15, 10:30] += 0.35 * (np.array([255, 0, 0]) - faint[5:15, 10:30])  # 70 % of a full mark
    boxes = decode_boxes(np.clip(np.rint(faint), 0, 255).astype(np.uint8), source, "red")
    assert len(boxes) == 1 and boxes[0, 4] == pytest.approx(0.7, abs=0.02)
    with pytest.raises(ValueError, match="differ in size"):
        decode_boxes(generated[:32], source, "red")
