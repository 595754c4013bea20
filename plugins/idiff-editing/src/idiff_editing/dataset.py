"""Training samples of the editing task: weighted editing pairs at the run resolution.

Per-dataset sample weights (``task.weights``), as InstructDiffusion weights its editing sources: a dataset of N
pairs with weight w contributes ``L = max(1, round(w N))`` items per pass. Item j of a dataset is pair ``j mod N``
when L >= N (each pair ``floor(w)`` or ``ceil(w)`` times) and a pair drawn uniformly from all N at every access when
L < N. The core's ``data.mixture.editing`` then weights the task as a whole.

Each access picks one of the pair's variants (InstructPix2Pix's seeds), resizes both images so their short side is
R = the run resolution, cuts the same random R x R square of both (InstructPix2Pix's images are square, so this is
its resize) and flips both with ``flip_prob``. The instruction is the pair's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from idiff.tasks.api import EditSample, SampleRandom
from torch.utils.data import Dataset

from idiff_editing.pairs import EditPair, fit_square

__all__ = ["EditPairDataset", "WeightedPart"]


@dataclass(frozen=True)
class WeightedPart:
    """One dataset of the task's training data: its name, its pairs and its sample weight."""

    name: str
    pairs: Sequence[EditPair]
    weight: float

    @property
    def length(self) -> int:
        """Items per pass: ``max(1, round(weight * pairs))``."""
        return max(1, round(self.weight * len(self.pairs)))


class EditPairDataset(Dataset[EditSample]):
    """Weighted editing pairs as :class:`EditSample` s of side ``resolution``.

    Args:
        parts: the datasets with a positive weight (each with at least one pair).
        resolution: side R of the samples.
        flip_prob: probability of a horizontal flip of both images.
        seed: run seed (see :class:`idiff.tasks.api.SampleRandom`).
    """

    def __init__(self, parts: Sequence[WeightedPart], resolution: int, flip_prob: float = 0.0, seed: int = 0) -> None:
        self.parts = [p for p in parts if p.pairs]
        if not self.parts:
            raise ValueError("no editing pairs to train on")
        self.starts = np.cumsum([0] + [p.length for p in self.parts]).tolist()
        self.resolution = resolution
        self.flip_prob = flip_prob
        self.random = SampleRandom(seed)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def describe(self) -> str:
        """One line per dataset: pairs, weight, samples per pass."""
        lines = [f"{p.name}: {len(p.pairs)} pairs x weight {p.weight:g} = {p.length} samples" for p in self.parts]
        return "\n".join(lines)

    def locate(self, index: int, rng: np.random.Generator) -> tuple[WeightedPart, EditPair]:
        """The dataset and pair of item ``index`` (``rng`` draws the pair of a down-weighted dataset)."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        k = int(np.searchsorted(self.starts, index, side="right")) - 1
        part, j = self.parts[k], index - self.starts[k]
        n = len(part.pairs)
        return part, part.pairs[j % n if part.length >= n else int(rng.integers(n))]

    def __getitem__(self, index: int) -> EditSample:
        rng = self.random()
        _, pair = self.locate(index, rng)
        source, target = pair.load(int(rng.integers(len(pair.variants))))
        offset = (float(rng.random()), float(rng.random()))
        source, target = fit_square(source, self.resolution, offset), fit_square(target, self.resolution, offset)
        if rng.random() < self.flip_prob:
            source, target = source[:, ::-1], target[:, ::-1]
        return EditSample(np.ascontiguousarray(source), np.ascontiguousarray(target), pair.instruction)
