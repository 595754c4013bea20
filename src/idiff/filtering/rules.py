"""Which editing pairs the data filter keeps: the paper's rules as pure functions of the pair's scores.

PAPER.md, "Editing-data filtering": drop targets of low score, and pairs whose source and target scores differ a lot
(the public thresholds appear to be 5.5 and 0.5). Our reading, each rule switched off by a null threshold:

- ``min_aesthetic`` (5.5): the target's LAION aesthetic score must reach it;
- ``max_aesthetic_gap`` (0.5): source and target aesthetic scores may differ by at most this;
- ``min_giqa``: the target's KNN-GIQA score must reach it (set from a quantile of the reference's own scores,
  because GIQA's scale depends on the features);
- ``max_giqa_log_ratio`` (0.5): ``|log(GIQA target / GIQA source)|`` may be at most this (a scale-free "differ a lot").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PairScores", "Thresholds", "drop_reasons"]


@dataclass(frozen=True)
class Thresholds:
    """The filter's thresholds; None switches a rule off."""

    min_giqa: float | None = None
    max_giqa_log_ratio: float | None = 0.5
    min_aesthetic: float | None = 5.5
    max_aesthetic_gap: float | None = 0.5


@dataclass(frozen=True)
class PairScores:
    """Scores of one pair's two images; None where a score was not computed."""

    giqa_source: float | None = None
    giqa_target: float | None = None
    aesthetic_source: float | None = None
    aesthetic_target: float | None = None


def drop_reasons(scores: PairScores, thresholds: Thresholds) -> dict[str, str]:
    """Why the pair is dropped: {rule (a :class:`Thresholds` field): message}; empty when it is kept."""
    reasons = {}
    s, t = scores, thresholds
    if t.min_aesthetic is not None and s.aesthetic_target is not None and s.aesthetic_target < t.min_aesthetic:
        reasons["min_aesthetic"] = f"target aesthetic {s.aesthetic_target:.3f} < {t.min_aesthetic}"
    if t.max_aesthetic_gap is not None and None not in (s.aesthetic_source, s.aesthetic_target):
        gap = abs(s.aesthetic_target - s.aesthetic_source)
        if gap > t.max_aesthetic_gap:
            reasons["max_aesthetic_gap"] = f"aesthetic source/target differ by {gap:.3f} > {t.max_aesthetic_gap}"
    if t.min_giqa is not None and s.giqa_target is not None and s.giqa_target < t.min_giqa:
        reasons["min_giqa"] = f"target GIQA {s.giqa_target:.4g} < {t.min_giqa:.4g}"
    if t.max_giqa_log_ratio is not None and None not in (s.giqa_source, s.giqa_target):
        ratio = abs(math.log(s.giqa_target / s.giqa_source))
        if ratio > t.max_giqa_log_ratio:
            reasons["max_giqa_log_ratio"] = f"GIQA source/target log ratio {ratio:.3f} > {t.max_giqa_log_ratio}"
    return reasons
