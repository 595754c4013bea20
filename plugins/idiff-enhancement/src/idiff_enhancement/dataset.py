"""Training samples of the enhancement tasks: aligned random crops of degraded / clean pairs.

PAPER.md "Encodings" -> Low-level: the source is the degraded image, the target the clean one, the instruction one
of the task's templates at random. Each access loads a pair (chosen through the per-dataset weights of
:mod:`idiff_enhancement.weighting`), takes the same random R x R crop of both images (R = the run resolution;
smaller images are mirror-padded first) and flips both horizontally with ``flip_prob`` (0.5, as the public code).

The public code first resizes GoPro, REDS and CLWD images so their short side is R (Lanczos) and crops SIDD at its
own scale; here every dataset is cropped at its own scale by default (``resize_short_side=False``), so training sees
the degradation at the scale the full-resolution evaluation (:mod:`idiff_enhancement.tiling`) scores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from idiff.tasks.api import EditSample, SampleRandom
from PIL import Image
from torch.utils.data import Dataset

from idiff_enhancement.images import pad_to
from idiff_enhancement.pairs import PairSource
from idiff_enhancement.weighting import WeightedIndex

__all__ = ["DatasetPart", "PairCropDataset", "random_pair_crop", "resize_short_side"]


@dataclass(frozen=True)
class DatasetPart:
    """One dataset of a task's training mixture: its name, its pairs and its sample weight."""

    name: str
    pairs: Sequence[PairSource]
    weight: float


def random_pair_crop(
    degraded: np.ndarray, clean: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The same random ``size`` x ``size`` crop of both images (mirror-padded first when smaller)."""
    degraded, clean = pad_to(degraded, size, size), pad_to(clean, size, size)
    y = int(rng.integers(degraded.shape[0] - size + 1))
    x = int(rng.integers(degraded.shape[1] - size + 1))
    return degraded[y : y + size, x : x + size], clean[y : y + size, x : x + size]


def resize_short_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the shorter side is ``size`` (aspect ratio kept, Lanczos), as the public code does."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    shape = (max(size, round(w * scale)), max(size, round(h * scale)))
    if shape == (w, h):
        return image
    return np.asarray(Image.fromarray(image).resize(shape, Image.Resampling.LANCZOS), dtype=np.uint8)


class PairCropDataset(Dataset[EditSample]):
    """Aligned random crops of weighted degraded / clean pairs, with a random instruction.

    Args:
        parts: the task's datasets with their weights (see :class:`DatasetPart`).
        resolution: crop side R.
        templates: the task's instructions.
        flip_prob: probability of a horizontal flip of both crops.
        resize_short_side: resize each pair so its short side is R before cropping (the public code's choice).
        seed: run seed (see :class:`idiff.tasks.api.SampleRandom`: in a fit, each draw's choices are keyed by its
            place in the run, so a resumed run crops and flips exactly as an uninterrupted one).
    """

    def __init__(
        self,
        parts: Sequence[DatasetPart],
        resolution: int,
        templates: Sequence[str],
        flip_prob: float = 0.5,
        resize_short_side: bool = False,
        seed: int = 0,
    ) -> None:
        self.parts = list(parts)
        self.index = WeightedIndex([len(p.pairs) for p in self.parts], [p.weight for p in self.parts])
        self.resolution = resolution
        self.templates = tuple(templates)
        self.flip_prob = flip_prob
        self.resize = resize_short_side
        self.seed = seed
        self.random = SampleRandom(seed)

    def __len__(self) -> int:
        return len(self.index)

    def describe(self) -> str:
        """One line per dataset: pairs, weight, items per pass."""
        return "\n".join(
            f"{p.name}: {len(p.pairs)} pairs x weight {p.weight:g} = {n} samples"
            for p, n in zip(self.parts, self.index.lengths, strict=True)
        )

    def __getitem__(self, index: int) -> EditSample:
        rng = self.random()
        part, item = self.index.locate(index, rng)
        degraded, clean = self.parts[part].pairs[item].load()
        if self.resize:
            degraded = resize_short_side(degraded, self.resolution)
            clean = resize_short_side(clean, self.resolution)
        degraded, clean = random_pair_crop(degraded, clean, self.resolution, rng)
        if rng.random() < self.flip_prob:
            degraded, clean = degraded[:, ::-1], clean[:, ::-1]
        instruction = self.templates[int(rng.integers(len(self.templates)))]
        return EditSample(
            source=np.ascontiguousarray(degraded), target=np.ascontiguousarray(clean), instruction=instruction
        )
