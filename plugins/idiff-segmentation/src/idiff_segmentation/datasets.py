"""Training samples of the segmentation tasks (PAPER.md "Encodings" -> Segmentation).

- Referring: one item per ref of the train split; each call picks one of its sentences, a random colour and
  template, and overlays the ref's mask (gRefCOCO no-target refs give the unchanged image as target).
- Semantic: one item per image; each call names one class. With probability ``absent_class_prob`` (0.2) the
  class is one absent from the image and the target is the unchanged image; otherwise a class present in it.

Images and masks are resized to the run's square resolution (:mod:`idiff_segmentation.masks`). Random choices come
from :class:`idiff.tasks.api.SampleRandom`: keyed by the item's draw in the training mixture, so a resumed run makes
the same ones, and workers do not repeat each other.
"""

from __future__ import annotations

import numpy as np
from idiff.tasks.api import EditSample, SampleRandom
from torch.utils.data import Dataset

from idiff_segmentation.encoding import EncodedMask, class_phrase, encode_mask
from idiff_segmentation.labelmaps import IGNORE_INDEX, LabelMapDataset
from idiff_segmentation.masks import resize_image, resize_mask
from idiff_segmentation.refer import ReferringDataset, ReferringExpression

__all__ = ["ReferringTrainDataset", "SemanticTrainDataset"]


class ReferringTrainDataset(Dataset[EditSample]):
    """Encoded referring samples: one item per ref, a random sentence of it per call."""

    def __init__(self, data: ReferringDataset, resolution: int, alpha: float = 0.5, seed: int = 0) -> None:
        self.data = data
        self.refs: list[list[ReferringExpression]] = list(data.by_ref().values())
        self.resolution = resolution
        self.alpha = alpha
        self.random = SampleRandom(seed)

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, index: int) -> EditSample:
        image, _, enc = self.encoded(index)
        return EditSample(source=image, target=enc.target, instruction=enc.instruction)

    def encoded(self, index: int) -> tuple[np.ndarray, np.ndarray, EncodedMask]:
        """The ref's image and mask at the run resolution, and one random encoding of it (sentence, colour)."""
        rng = self.random()
        sentences = self.refs[index]
        expression = sentences[int(rng.integers(len(sentences)))]
        image = resize_image(self.data.load_image(expression.image_id), self.resolution)
        mask = resize_mask(self.data.mask(expression), self.resolution)
        return image, mask, encode_mask(image, mask, expression.sentence, "referring", rng, alpha=self.alpha)


class SemanticTrainDataset(Dataset[EditSample]):
    """Encoded semantic samples: one item per image, one (present or, with ``absent_prob``, absent) class per call."""

    def __init__(
        self, data: LabelMapDataset, resolution: int, absent_prob: float = 0.2, alpha: float = 0.5, seed: int = 0
    ) -> None:
        self.data = data
        self.resolution = resolution
        self.absent_prob = absent_prob
        self.alpha = alpha
        self.random = SampleRandom(seed)

    def __len__(self) -> int:
        return len(self.data.items)

    def __getitem__(self, index: int) -> EditSample:
        rng = self.random()
        item = self.data.items[index]
        image, labels = self.data.load_pair(item)
        present = np.unique(labels[labels != IGNORE_INDEX])
        image = resize_image(image, self.resolution)
        absent = np.setdiff1d(np.arange(self.data.num_classes), present)
        if len(absent) and (not len(present) or rng.random() < self.absent_prob):
            class_id = int(rng.choice(absent))
            mask = np.zeros((self.resolution, self.resolution), dtype=bool)
        else:
            class_id = int(rng.choice(present))
            mask = resize_mask(labels == class_id, self.resolution)
        enc = encode_mask(image, mask, class_phrase(self.data.class_names[class_id]), "semantic", rng, alpha=self.alpha)
        return EditSample(source=image, target=enc.target, instruction=enc.instruction)
