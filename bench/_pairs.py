"""Side-by-side timing shared by the benchmark scripts (a helper module, not a benchmark: nox skips ``bench/_*.py``).

Two sides timed in turns on one machine: if the machine slows down (or speeds up) during the run, whichever side
always ran first would be favoured. So the order alternates from repeat to repeat, and besides the ratio of the two
medians the scripts report the median of the per-repeat ratios, whose two runs are neighbours in time.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def in_turn(sides: Sequence[T], repeat: int) -> list[T]:
    """The sides in the order to run them in repeat ``repeat``: as given in even repeats, reversed in odd ones."""
    return list(sides) if repeat % 2 == 0 else list(sides)[::-1]


def paired_ratio(first: Sequence[float], second: Sequence[float]) -> float:
    """Median over repeats of ``first[i] / second[i]``."""
    return statistics.median(a / b for a, b in zip(first, second, strict=True))
