"""The training data of stage 1, pretraining adaptation: images with random marks, captions with their suffixes.

Images come from a folder (optionally with a COCO captions file naming them) or from the installed tasks' own
training images (``stage.images=tasks``: the source image of each task sample, so the synthetic data works out of
the box). Each draw picks a caption (or a template when the image has none), then a circle, colour patches or
nothing (:mod:`idiff.adaptation.marks`), keyed by the draw number so every process count sees the same samples.
A sample is ``EditSample(source=the unmarked image, target=the marked image, instruction=the extended caption)``;
the text-to-image module reads only target and instruction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from torch.utils.data import ConcatDataset, Dataset

from idiff.adaptation.captions import CAPTION_TEMPLATES, read_coco_captions
from idiff.adaptation.marks import mark_image, validate_mark_probabilities
from idiff.data.draws import SampleRandom
from idiff.data.images import IMAGE_SUFFIXES, load_image
from idiff.errors import ConfigError, DataError
from idiff.tasks.api import EditSample, Task

__all__ = ["AdaptationData", "AdaptationDataset", "FolderImages", "TaskImages"]


class FolderImages(Sequence[np.ndarray]):
    """Image files read on access, centre-cropped and resized to ``resolution``."""

    def __init__(self, paths: list[Path], resolution: int) -> None:
        self.paths = paths
        self.resolution = resolution

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        return load_image(self.paths[index], self.resolution)


class TaskImages(Sequence[np.ndarray]):
    """The source images of task training samples (at the training resolution already)."""

    def __init__(self, samples: Dataset[EditSample]) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        return self.samples[index].source


class AdaptationDataset(Dataset[EditSample]):
    """Images with random marks and extended captions.

    Args:
        images: the images, uint8 (H, W, 3) at the training resolution, read on access.
        captions: the captions of each image (an empty list: a template is used).
        marks: probabilities of ``circle``, ``patches``, ``none``.
        seed: seeds the random choices (per draw inside :func:`idiff.data.draws.drawing`).
    """

    def __init__(
        self, images: Sequence[np.ndarray], captions: list[list[str]], marks: Mapping[str, float],
        seed: int = 0,
    ) -> None:
        if len(images) != len(captions):
            raise ValueError(f"AdaptationDataset: {len(images)} images but {len(captions)} caption lists")
        self.images = images
        self.captions = captions
        self.marks = validate_mark_probabilities(marks)
        self.random = SampleRandom(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> EditSample:
        rng = self.random()
        image = self.images[index]
        captions = self.captions[index] or CAPTION_TEMPLATES
        caption = captions[int(rng.integers(len(captions)))]
        marked = mark_image(image, self.marks, rng)
        return EditSample(source=image, target=marked.image, instruction=marked.caption(caption))


def _folder_images(root: Path, captions_file: str | None) -> tuple[list[Path], list[list[str]]]:
    if not root.is_dir():
        raise ConfigError(f"stage.images={root}: not a folder (allowed: tasks, or a folder of images)")
    if captions_file:
        by_name = read_coco_captions(captions_file)
        paths = [root / name for name in by_name]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise DataError(
                f"{captions_file}: {len(missing)} of its {len(paths)} images are not under {root} (first: {missing[0]})"
            )
        return paths, list(by_name.values())
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return paths, [[] for _ in paths]


class AdaptationData:
    """Stage 1's source of training samples (``prepare_data`` / ``train_dataset``, like a task).

    Args:
        images: ``tasks`` (the training images of ``tasks``) or a folder of images.
        captions: a COCO captions JSON for the folder's images (``file_name`` relative to the folder), or None.
        marks: probabilities of ``circle``, ``patches``, ``none``.
        resolution: training resolution (images are centre-cropped and resized to it).
        seed: seeds the random choices.
        tasks: the task mixture, read when ``images`` is ``tasks``.
    """

    def __init__(
        self, images: str, captions: str | None, marks: Mapping[str, float], resolution: int, seed: int = 0,
        tasks: Mapping[str, Task] | None = None,
    ) -> None:
        self.images = str(images)
        self.captions = captions
        self.marks = dict(marks)
        self.resolution = resolution
        self.seed = seed
        self.tasks = dict(tasks or {})
        if self.images == "tasks" and captions:
            raise ConfigError("stage.captions needs stage.images=<folder>: task images have no captions")
        if self.images == "tasks" and not self.tasks:
            raise ConfigError("stage.images=tasks but data.mixture names no task")

    def prepare_data(self) -> None:
        if self.images == "tasks":
            for task in self.tasks.values():
                task.prepare_data()

    def train_dataset(self) -> AdaptationDataset:
        if self.images == "tasks":
            images = TaskImages(ConcatDataset([task.train_dataset() for task in self.tasks.values()]))
            return AdaptationDataset(images, [[] for _ in range(len(images))], self.marks, self.seed)
        paths, captions = _folder_images(Path(self.images), self.captions)
        if not paths:
            raise DataError(f"stage.images={self.images}: no images (suffixes {', '.join(IMAGE_SUFFIXES)})")
        return AdaptationDataset(FolderImages(paths, self.resolution), captions, self.marks, self.seed)
