"""Training samples of the ``detection`` task: one image per item, one category marked per call.

Each call names one category: with probability ``absent_category_prob`` one the image lacks (the target is the
unchanged image, as the paper's semantic segmentation does with absent classes), otherwise one of its objects'
categories, and marks every non-crowd object of it in a random colour with a random template
(:func:`idiff_detection.marks.encode_detection`). Random choices come from :class:`idiff.tasks.api.SampleRandom`,
keyed by the item's draw in the training mixture, so a resumed run repeats them.
"""

from __future__ import annotations

import numpy as np
from idiff.tasks.api import EditSample, SampleRandom
from torch.utils.data import Dataset

from idiff_detection.config import DetectionConfig
from idiff_detection.instances import ImageEntry, InstancesDataset, read_rgb
from idiff_detection.marks import encode_detection, to_square, to_square_mask

__all__ = ["DetectionTrainDataset", "object_regions"]


def object_regions(
    data: InstancesDataset, entry: ImageEntry, category_id: int, mark: str, side: int
) -> list[np.ndarray]:
    """The ``side x side`` regions to mark for the non-crowd objects of ``category_id`` in ``entry``.

    ``mark="mask"``: each object's pixels (its box when it has no segmentation); ``mark="box"``: its box.
    """
    pick = data.region if mark == "mask" else data.box_region
    chosen = [o for o in entry.objects if o.category_id == category_id and not o.iscrowd]
    return [to_square_mask(pick(obj), side) for obj in chosen]


class DetectionTrainDataset(Dataset[EditSample]):
    """Encoded detection samples at ``resolution``: images with at least one non-crowd object."""

    def __init__(self, data: InstancesDataset, config: DetectionConfig, resolution: int, seed: int = 0) -> None:
        self.data = data
        self.entries = [e for e in data.images if e.category_ids()]
        self.config = config
        self.resolution = resolution
        self.random = SampleRandom(seed)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> EditSample:
        rng = self.random()
        entry = self.entries[index]
        source = to_square(read_rgb(entry.path), self.resolution)
        present = entry.category_ids()
        absent = [c for c in self.data.categories if c not in present]
        if absent and rng.random() < self.config.absent_category_prob:
            category, regions = absent[int(rng.integers(len(absent)))], []
        else:
            category = present[int(rng.integers(len(present)))]
            regions = object_regions(self.data, entry, category, self.config.mark, self.resolution)
        name = self.data.categories[category]
        enc = encode_detection(source, regions, name, rng, mark=self.config.mark, alpha=self.config.overlay_alpha)
        return EditSample(source=source, target=enc.target, instruction=enc.instruction)
