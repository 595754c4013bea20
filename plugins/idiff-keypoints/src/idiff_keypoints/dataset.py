"""Training samples and test-request grouping for the ``keypoints`` task.

PAPER.md "Encodings" -> Keypoints: each training sample is a top-down person crop with HRNet augmentation
and 1..5 random labelled joints encoded as coloured disks. At test time all K joints of a person are
requested over ``ceil(K / max_keypoints)`` instructions (:func:`spread_chunks`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from idiff.tasks.api import EditSample, SampleRandom, read_rgb
from torch.utils.data import Dataset

from idiff_keypoints.coco import KeypointsDataset, PersonInstance
from idiff_keypoints.config import KeypointsConfig
from idiff_keypoints.crops import make_crop, sample_augmentation
from idiff_keypoints.encoding import EncodedKeypoints, disk_radius_for, encode_keypoints

__all__ = ["KeypointsTrainDataset", "load_rgb", "spread_chunks"]


def load_rgb(person: PersonInstance) -> np.ndarray:
    """The person's image as uint8 (H, W, 3) RGB, checked against the annotation's size where it has one."""
    return read_rgb(person.image_path, expected_size=person.image_size if all(person.image_size) else None)


class KeypointsTrainDataset(Dataset[EditSample]):
    """Training samples: one augmented person crop per item, random joints and colours on every call.

    Randomness comes from :class:`idiff.tasks.api.SampleRandom`: keyed by the item's draw in the training mixture
    (so a resumed run repeats it), else one generator per DataLoader worker.
    """

    def __init__(self, data: KeypointsDataset, config: KeypointsConfig, resolution: int, seed: int = 0) -> None:
        self.instances: list[PersonInstance] = data.instances
        self.layout = data.layout
        self.config = config
        self.resolution = resolution
        self.seed = seed
        self.radius = disk_radius_for(resolution, config.disk_radius)
        self.random = SampleRandom(seed)

    def __len__(self) -> int:
        return len(self.instances)

    def __getitem__(self, index: int) -> EditSample:
        crop, _, enc = self.encoded(index)
        return EditSample(source=crop, target=enc.target, instruction=enc.instruction)

    def encoded(self, index: int) -> tuple[np.ndarray, np.ndarray, EncodedKeypoints]:
        """One augmented crop, its joints (K, 3) in crop pixels and their encoding (random on every call)."""
        rng = self.random()
        inst = self.instances[index]
        cfg = self.config
        aug = None
        if cfg.augment:
            aug = sample_augmentation(
                rng, cfg.scale_factor, cfg.rotation_factor, cfg.rotation_prob, cfg.flip_prob, cfg.half_body_prob
            )
            if aug.half_body and inst.num_keypoints <= self.layout.num_joints // 2:
                aug = replace(aug, half_body=False)
        crop, kp, _ = make_crop(
            load_rgb(inst), inst.bbox, inst.keypoints, self.resolution, self.layout, aug, rng
        )
        enc = encode_keypoints(
            crop,
            kp,
            self.layout.names,
            rng,
            cfg.min_keypoints_per_instruction,
            cfg.max_keypoints_per_instruction,
            radius=self.radius,
        )
        return crop, kp, enc


def spread_chunks(keypoints: np.ndarray, n_chunks: int) -> list[np.ndarray]:
    """Split all K joints into ``n_chunks`` near-equal instructions, keeping close joints apart.

    Greedy: each joint (in index order) joins the non-full chunk whose nearest labelled joint is farthest
    away, so e.g. the eyes, ears and nose go to different instructions and their disks do not overlap.
    """
    k = len(keypoints)
    sizes = [len(c) for c in np.array_split(np.arange(k), n_chunks)]
    chunks: list[list[int]] = [[] for _ in range(n_chunks)]
    labelled = keypoints[:, 2] > 0
    for j in range(k):
        best, best_d = -1, -1.0
        for c, members in enumerate(chunks):
            if len(members) >= sizes[c]:
                continue
            pts = [m for m in members if labelled[m]]
            d = (
                np.inf
                if not (labelled[j] and pts)
                else float(np.min(np.linalg.norm(keypoints[pts, :2] - keypoints[j, :2], axis=1)))
            )
            if d > best_d:
                best, best_d = c, d
        chunks[best].append(j)
    return [np.asarray(c, dtype=int) for c in chunks]
