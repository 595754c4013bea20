"""Readers for semantic-segmentation label maps: COCO-Stuff and ADE20K in their released layouts.

COCO-Stuff (Caesar et al., 2018; github.com/nightrome/cocostuff), stuff+thing maps::

    <root>/images/<split>/<name>.jpg           # split train2017 | val2017
    <root>/annotations/<split>/<name>.png      # 8-bit: 0..181 = class, 255 = unlabeled
    <root>/labels.txt                          # "0: unlabeled", "1: person", ..., "182: wood"

The PNG values are *0-based* while ``labels.txt`` is 1-based (value ``v`` is label ``v + 1``: 0 is person),
as the COCO-Stuff README and its issue #7 say. ADE20K SceneParsing (Zhou et al., 2017)::

    <root>/ADEChallengeData2016/images/<split>/ADE_<split>_<n>.jpg        # split training | validation
    <root>/ADEChallengeData2016/annotations/<split>/ADE_<split>_<n>.png   # 0 = other (ignored), 1..150

Both are read into one convention: class index ``k`` in ``0..C-1`` names ``class_names[k]``, and
``IGNORE_INDEX`` (255) marks pixels no metric counts (COCO-Stuff's unlabeled, ADE20K's other). PAPER.md
"Evaluation protocols" reports COCO-Stuff and ADE-150 mcIoU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from idiff.tasks.api import DataError, ErrorPolicy, open_image, read_rgb

from idiff_segmentation.ade20k_classes import ADE20K_CLASSES

__all__ = [
    "IGNORE_INDEX",
    "LABEL_MODES",
    "SEMANTIC_LAYOUTS",
    "LabelMapDataset",
    "LabelMapError",
    "LabelMapItem",
    "LabelMapLayout",
    "load_label_maps",
    "read_labels_txt",
]

#: Label value of pixels that count for no class.
IGNORE_INDEX = 255
#: Pillow modes a label map may have (one channel: 8-bit, palette, 16- or 32-bit integers).
LABEL_MODES = ("L", "P", "I", "I;16")


class LabelMapError(DataError, ValueError):
    """A label-map dataset is missing or malformed; the message names the file or folder."""


@dataclass(frozen=True)
class LabelMapLayout:
    """Where a dataset keeps its files and how its PNG values map to class indices.

    Attributes:
        train_split: default training split name.
        val_split: default evaluation split name.
        image_dir_pattern: image folder relative to the root; ``{split}`` is substituted.
        label_dir_pattern: label-map folder relative to the root; ``{split}`` is substituted.
        value_offset: PNG value of class index 0 (values below it are ignored).
    """

    train_split: str
    val_split: str
    image_dir_pattern: str
    label_dir_pattern: str
    value_offset: int


#: The released layouts.
SEMANTIC_LAYOUTS: dict[str, LabelMapLayout] = {
    "cocostuff": LabelMapLayout("train2017", "val2017", "images/{split}", "annotations/{split}", 0),
    "ade20k": LabelMapLayout(
        "training", "validation", "ADEChallengeData2016/images/{split}", "ADEChallengeData2016/annotations/{split}", 1
    ),
}

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_LABEL_LINE = re.compile(r"^\s*(\d+)\s*:\s*(.+?)\s*$")


@dataclass(frozen=True)
class LabelMapItem:
    """One image and its label map."""

    image_path: Path
    label_path: Path

    @property
    def name(self) -> str:
        """The file stem shared by image and label map."""
        return self.label_path.stem


@dataclass
class LabelMapDataset:
    """One split of a label-map dataset.

    Attributes:
        dataset: ``cocostuff`` or ``ade20k``.
        split: the split name.
        class_names: name of class index ``k`` (``C`` names).
        items: image / label-map pairs, sorted by name.
        value_offset: PNG value of class index 0.
    """

    dataset: str
    split: str
    class_names: tuple[str, ...]
    items: list[LabelMapItem]
    value_offset: int

    @property
    def num_classes(self) -> int:
        """Number of classes ``C``."""
        return len(self.class_names)

    def load_labels(self, item: LabelMapItem) -> np.ndarray:
        """uint8 (H, W) class indices of ``item``; ``IGNORE_INDEX`` where no class counts.

        Raises:
            DataError: the label map is missing, unreadable, too large, or not one channel (names the file).
        """
        image = open_image(item.label_path)
        if image.mode not in LABEL_MODES:
            raise LabelMapError(
                f"{item.label_path}: label map has mode {image.mode}, expected one channel ({', '.join(LABEL_MODES)})"
            )
        raw = np.asarray(image, dtype=np.int64)
        labels = raw - self.value_offset
        invalid = (raw == IGNORE_INDEX) | (labels < 0) | (labels >= self.num_classes)
        return np.where(invalid, IGNORE_INDEX, labels).astype(np.uint8)


    def load_pair(self, item: LabelMapItem) -> tuple[np.ndarray, np.ndarray]:
        """The image (uint8 (H, W, 3)) and its class indices (uint8 (H, W)); refuses a label map of another size."""
        labels = self.load_labels(item)
        height, width = labels.shape
        image = read_rgb(item.image_path, expected_size=(width, height), size_source=f"its label map {item.label_path}")
        return image, labels


def read_labels_txt(path: Path | str) -> dict[int, str]:
    """Parse a COCO-Stuff ``labels.txt`` (``"<id>: <name>"`` per line) into ``{id: name}``."""
    path = Path(path)
    if not path.is_file():
        raise LabelMapError(f"{path}: labels file not found (expected lines '<id>: <name>')")
    labels: dict[int, str] = {}
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise LabelMapError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LABEL_LINE.match(line)
        if match is None:
            raise LabelMapError(f"{path}:{number}: expected '<id>: <name>', got {line.strip()!r}")
        if int(match.group(1)) > IGNORE_INDEX:
            raise LabelMapError(f"{path}:{number}: id {match.group(1)} is above {IGNORE_INDEX} (8-bit label maps)")
        labels[int(match.group(1))] = match.group(2)
    if not labels:
        raise LabelMapError(f"{path}: no labels")
    return labels


def _cocostuff_names(labels: dict[int, str]) -> tuple[str, ...]:
    count = max(labels)
    return tuple(labels.get(k + 1, f"class {k + 1}") for k in range(count))


def _pair(image_dir: Path, label_path: Path) -> LabelMapItem:
    for suffix in _IMAGE_SUFFIXES:
        candidate = image_dir / f"{label_path.stem}{suffix}"
        if candidate.is_file():
            return LabelMapItem(candidate, label_path)
    raise LabelMapError(f"{label_path}: no image {label_path.stem}.jpg or .png in {image_dir}")


def load_label_maps(
    root: Path | str,
    dataset: str,
    split: str,
    image_dir_pattern: str = "",
    label_dir_pattern: str = "",
    labels_file: str = "labels.txt",
    errors: ErrorPolicy | None = None,
) -> LabelMapDataset:
    """Read one split of a COCO-Stuff or ADE20K dataset.

    Args:
        root: dataset root.
        dataset: ``"cocostuff"`` or ``"ade20k"``.
        split: split name, e.g. ``"val2017"`` or ``"validation"``.
        image_dir_pattern: image folder relative to ``root`` (``{split}`` substituted); ``""`` = the layout's.
        label_dir_pattern: label folder likewise.
        labels_file: COCO-Stuff's class list relative to ``root`` (ADE20K's 150 names are built in).
        errors: the run's ``data.on_error`` policy: a label map without an image raises, or is skipped and counted.

    Raises:
        LabelMapError: unknown dataset, missing folder or labels file, malformed labels file, a label map without
            an image (under ``raise``), or none left.
    """
    if dataset not in SEMANTIC_LAYOUTS:
        raise LabelMapError(f"unknown semantic dataset {dataset!r}; known: {', '.join(SEMANTIC_LAYOUTS)}")
    layout = SEMANTIC_LAYOUTS[dataset]
    root = Path(root)
    image_dir = root / (image_dir_pattern or layout.image_dir_pattern).format(split=split)
    label_dir = root / (label_dir_pattern or layout.label_dir_pattern).format(split=split)
    if dataset == "cocostuff":
        names = _cocostuff_names(read_labels_txt(root / labels_file))
    else:
        names = ADE20K_CLASSES
    if not label_dir.is_dir():
        raise LabelMapError(f"{label_dir}: label-map folder of split {split!r} not found")
    labels = sorted(label_dir.glob("*.png"))
    if not labels:
        raise LabelMapError(f"{label_dir}: no .png label maps")
    errors = errors or ErrorPolicy()
    items = []
    for path in labels:
        with errors.guard():
            items.append(_pair(image_dir, path))
    errors.require(len(items), f"{label_dir}: label maps with an image")
    return LabelMapDataset(dataset, split, names, items, layout.value_offset)
