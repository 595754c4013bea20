"""Per-dataset sample weights inside a task (the paper's GoPro 2.0, REDS 0.2, SIDD 20, CLWD 0.2)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from idiff_enhancement.weighting import WeightedIndex


def test_up_weighted_datasets_repeat_each_pair_evenly() -> None:
    index = WeightedIndex([3, 10], [20.0, 1.5])
    assert len(index) == 60 + 15
    rng = np.random.default_rng(0)
    located = [index.locate(i, rng) for i in range(len(index))]
    sidd = Counter(item for part, item in located if part == 0)
    assert sidd == {0: 20, 1: 20, 2: 20}
    assert sorted(Counter(item for part, item in located if part == 1).values()) == [1] * 5 + [2] * 5


def test_down_weighted_datasets_draw_within_blocks() -> None:
    index = WeightedIndex([200, 200], [2.0, 0.2])  # the deblur defaults on the synthetic sizes
    assert len(index) == 440 and index.lengths == [400, 40]
    rng = np.random.default_rng(0)
    seen: Counter[int] = Counter()
    for _ in range(500):  # 500 passes over the 40 REDS items
        for j in range(400, 440):
            part, item = index.locate(j, rng)
            assert part == 1 and (j - 400) * 5 <= item < (j - 399) * 5  # inside its block
            seen[item] += 1
    assert set(seen) == set(range(200))  # every pair is reachable ...
    assert max(seen.values()) < 2 * min(seen.values())  # ... about equally often (100 each expected)


def test_share_of_each_dataset_is_weight_times_size() -> None:
    index = WeightedIndex([200, 200], [2.0, 0.2])
    rng = np.random.default_rng(1)
    parts = Counter(index.locate(int(i), rng)[0] for i in rng.integers(0, len(index), 20000))
    assert parts[0] / 20000 == pytest.approx(400 / 440, abs=0.01)


def test_bad_arguments() -> None:
    assert len(WeightedIndex([5], [1e-6])) == 1  # never empty
    with pytest.raises(ValueError, match="weights > 0"):
        WeightedIndex([5, 5], [1.0, 0.0])
    with pytest.raises(ValueError, match="2 dataset sizes but 1 weights"):
        WeightedIndex([5, 5], [1.0])
    with pytest.raises(IndexError, match="index 5 out of range for 5 items"):
        WeightedIndex([5], [1.0]).locate(5, np.random.default_rng(0))
