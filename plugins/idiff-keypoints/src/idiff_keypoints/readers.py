"""One entry point for the three annotation formats: ``coco`` (COCO, CrowdPose, AP-10K, HumanArt), ``aic``, ``mpii``.

Each reader returns a :class:`~idiff_keypoints.coco.KeypointsDataset` whose ``coco`` index holds the ground truth
in COCO form, so crops, encoding, decoding and COCOeval are the same for every dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from idiff.tasks.api import ErrorPolicy

from idiff_keypoints.aic import aic_to_coco
from idiff_keypoints.coco import KeypointsDataset, keypoints_dataset, load_coco_keypoints, read_annotation_json
from idiff_keypoints.mpii import mpii_to_coco

__all__ = ["FORMAT_LAYOUTS", "FORMATS", "load_keypoints"]

#: The annotation formats ``format=`` accepts.
FORMATS: tuple[str, ...] = ("coco", "aic", "mpii")

#: The one layout of the formats that have one (a COCO file names its joints in its category).
FORMAT_LAYOUTS: dict[str, str] = {"aic": "aic", "mpii": "mpii"}

#: Readers of the formats that are converted to COCO form: (parsed file, its path) -> COCO keypoint dict.
_CONVERTERS: dict[str, Callable[[Any, Path], dict[str, Any]]] = {"aic": aic_to_coco, "mpii": mpii_to_coco}


def load_keypoints(
    fmt: str,
    root: Path | str,
    split: str,
    pattern: str,
    image_dir: str = "{split}",
    layout: str = "auto",
    sigmas: list[float] | None = None,
    errors: ErrorPolicy | None = None,
) -> KeypointsDataset:
    """Read split ``split`` of a dataset in format ``fmt`` (one of :data:`FORMATS`).

    Args:
        fmt: ``coco``, ``aic`` or ``mpii``.
        root: dataset root.
        split: split name, substituted for ``{split}`` in ``pattern`` and ``image_dir``.
        pattern: annotation file relative to ``root``.
        image_dir: image folder relative to ``root``.
        layout: for ``coco``, a catalogue layout name or ``auto``; AIC and MPII have their own.
        sigmas: OKS sigmas that replace the layout's.
        errors: the run's ``data.on_error`` policy (a bad record raises, or is skipped and counted); None raises.
    """
    if fmt == "coco":
        return load_coco_keypoints(root, split, pattern, image_dir, errors, sigmas=sigmas, layout=layout)
    if fmt not in _CONVERTERS:
        raise ValueError(f"unknown keypoint format {fmt!r}; known: {', '.join(FORMATS)}")
    path = Path(root) / pattern.format(split=split)
    data = _CONVERTERS[fmt](read_annotation_json(path), path)
    folder = Path(root) / image_dir.format(split=split)
    # the converted records go through the same per-record checks; AIC and MPII do not record image sizes
    return keypoints_dataset(
        data, path, folder, sigmas=sigmas, layout=FORMAT_LAYOUTS[fmt], errors=errors, sized=False
    )
