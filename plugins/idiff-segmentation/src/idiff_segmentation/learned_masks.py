"""The referring segmentation task's learned decoder: one mask map (PAPER.md "Decoding").

The paper extracts "each object's binary mask" from the generated image with a lightweight U-Net. Here the network
(core: ``idiff.decoders``) outputs one map, the probability that a pixel carries the requested overlay; its label is
the object's mask at the run resolution (empty for a gRefCOCO no-target expression), and a pixel is in the decoded
mask where the map exceeds ``threshold`` (0.5). The colour is not an input: a generated image carries one overlay,
and the network learns to find whichever of the 8 colours moved the pixels. No Lightning here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from idiff.tasks.api import DecoderSample, EditRequest, LearnedDecoding
from torch.utils.data import Dataset

from idiff_segmentation.datasets import ReferringTrainDataset

__all__ = ["MaskMaps"]


class _MaskSamples(Dataset[DecoderSample]):
    """The task's encoded training samples with their masks as labels."""

    def __init__(self, refs: ReferringTrainDataset) -> None:
        self.refs = refs

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, index: int) -> DecoderSample:
        image, mask, enc = self.refs.encoded(index)
        return DecoderSample(source=image, target=enc.target, label=mask[None].astype(np.float32))


class MaskMaps(LearnedDecoding):
    """One mask map: what the referring task's learned decoder outputs and how it is read.

    Args:
        refs: makes the task's training dataset; called only for training.
        truth: the boolean (R, R) ground-truth mask of a test request.
        threshold: map value above which a pixel is in the mask.
    """

    channels = 1

    def __init__(self, refs: Callable[[], ReferringTrainDataset], truth: Callable[[EditRequest], np.ndarray],
                 threshold: float = 0.5) -> None:
        self.refs = refs
        self.truth = truth
        self.threshold = threshold

    def train_dataset(self) -> Dataset[DecoderSample]:
        return _MaskSamples(self.refs())

    def label(self, request: EditRequest) -> np.ndarray:
        return np.asarray(self.truth(request), np.float32)[None]

    def read(self, maps: np.ndarray, request: EditRequest) -> Any:
        return np.asarray(maps[0]) > self.threshold
