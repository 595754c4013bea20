"""The ``semantic_segmentation`` task plugin: "mark the pixels of <class> in <colour>".

PAPER.md "Encodings" -> Segmentation (one class per sample; with probability 0.2 an absent class is named and the
target is the unchanged image), "Sampling" (guidance 7.5 / 1.5) and "Evaluation protocols" (mcIoU: mean over
classes of the classwise cumulative IoU, one mask per category). Data is COCO-Stuff or ADE20K in the real layout
(:mod:`idiff_segmentation.labelmaps`); with ``synthetic=True`` a small COCO-Stuff-layout dataset of landscapes is
written when its ``labels.txt`` is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from idiff.tasks.api import EditRequest, EditSample
from torch.utils.data import Dataset

from idiff_segmentation.config import SemanticConfig
from idiff_segmentation.datasets import SemanticTrainDataset
from idiff_segmentation.encoding import class_phrase
from idiff_segmentation.evaluation import (
    assemble_label_map,
    confusion_matrix,
    iou_from_confusion,
    mask_counts,
    semantic_class_metrics,
)
from idiff_segmentation.labelmaps import (
    IGNORE_INDEX,
    SEMANTIC_LAYOUTS,
    LabelMapDataset,
    LabelMapError,
    load_label_maps,
)
from idiff_segmentation.prediction import SemanticRequest
from idiff_segmentation.synthetic_stuff import write_synthetic_cocostuff
from idiff_segmentation.task import SegmentationTask

__all__ = ["SemanticConfig", "SemanticSegmentationTask"]


class SemanticSegmentationTask(SegmentationTask):
    """Semantic segmentation on COCO-Stuff / ADE20K data (synthetic landscapes by default)."""

    Config = SemanticConfig
    Request = SemanticRequest
    config: SemanticConfig
    kind = "semantic"

    # ------------------------------------------------------------------ data
    def prepare_data(self) -> None:
        """Write the synthetic COCO-Stuff-layout dataset when enabled and ``labels_file`` is missing.

        Raises:
            LabelMapError: ``synthetic`` with ``dataset=ade20k`` and no ADE20K data: synthetic data exists only in the
                COCO-Stuff layout.
        """
        cfg = self.config
        if not cfg.synthetic:
            return
        if cfg.dataset == "ade20k":
            pattern = cfg.label_dir_pattern or SEMANTIC_LAYOUTS["ade20k"].label_dir_pattern
            if not (self.data_dir / pattern.format(split=cfg.val_split_name)).is_dir():
                raise LabelMapError(
                    f"{self.data_dir}: no ADE20K data, and synthetic data is written in the cocostuff layout only; "
                    "set task.dataset=cocostuff, or task.synthetic=false with task.data_dir at ADEChallengeData2016's "
                    "parent"
                )
            return
        if not (self.data_dir / cfg.labels_file).is_file():
            write_synthetic_cocostuff(
                self.data_dir,
                {cfg.train_split_name: cfg.synthetic_train_images, cfg.val_split_name: cfg.synthetic_val_images},
                seed=cfg.synthetic_seed,
                image_size=cfg.synthetic_image_size,
                labels_file=cfg.labels_file,
                image_dir_pattern=cfg.image_dir_pattern or SEMANTIC_LAYOUTS["cocostuff"].image_dir_pattern,
                label_dir_pattern=cfg.label_dir_pattern or SEMANTIC_LAYOUTS["cocostuff"].label_dir_pattern,
            )

    def split(self, name: str) -> LabelMapDataset:
        """The parsed split ``name`` (cached); writes synthetic data first if configured and missing."""
        if name not in self._splits:
            self.prepare_data()
            cfg = self.config
            self._splits[name] = load_label_maps(
                self.data_dir, cfg.dataset, name, cfg.image_dir_pattern, cfg.label_dir_pattern, cfg.labels_file,
                self.context.errors,
            )
        return self._splits[name]

    def train_dataset(self) -> Dataset[EditSample]:
        """One encoded sample per training image (one named class per call, absent with ``absent_class_prob``)."""
        return SemanticTrainDataset(
            self.split(self.config.train_split_name),
            self.context.resolution,
            absent_prob=self.config.absent_class_prob,
            alpha=self.config.overlay_alpha,
            seed=self.context.seed,
        )

    def test_requests(self) -> list[EditRequest]:
        """One request per class present in each val image, image by image, in class order.

        ``max_test_requests`` caps the count; whole images are kept while they fit (only a first image larger than
        the cap is cut, and its unrequested classes are left out of the metrics).
        """
        data = self.split(self.config.val_split_name)
        cap = self.config.max_test_requests
        requests: list[EditRequest] = []
        for index, item in enumerate(data.items):
            pair = None
            with self.context.errors.guard():  # under on_error=skip an unreadable or mismatched pair is left out
                pair = data.load_pair(item)
            if pair is None:
                continue
            image, labels = pair
            classes = [int(c) for c in np.unique(labels) if c != IGNORE_INDEX]
            if cap and requests and len(requests) + len(classes) > cap:
                break
            for c in classes[: cap or None]:
                meta = {"item": index, "name": item.name, "class_id": c}
                requests.append(
                    self.make_request(image, labels == c, class_phrase(data.class_names[c]), [index, c], meta)
                )
        return requests

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> dict[str, float]:
        """mcIoU, mIoU and aAcc at the images' own size (see :mod:`idiff_segmentation.evaluation`).

        Predicted masks are written to ``<out_dir>/masks/<image name>_<class id>.png`` (see ``write_masks``).
        """
        self.check_lengths(requests, predictions)
        data = self.split(self.config.val_split_name)
        by_item: dict[int, list[tuple[EditRequest, Any]]] = {}
        for req, pred in zip(requests, predictions, strict=True):
            by_item.setdefault(req.meta["item"], []).append((req, pred))
        none_label = data.num_classes
        cm = np.zeros((none_label + 1, none_label + 1), dtype=np.int64)
        class_ids, inter, union = [], [], []
        for index, pairs in by_item.items():
            labels = data.load_labels(data.items[index])
            valid = labels != IGNORE_INDEX
            masks = []
            for req, pred in pairs:
                c = req.meta["class_id"]
                mask = self.full_size(pred, req.meta)
                i, u = mask_counts(mask, labels == c, valid)
                class_ids.append(c)
                inter.append(i)
                union.append(u)
                masks.append((c, mask))
                self.save_mask(out_dir, f"{req.meta['name']}_{c}", mask)
            asked = np.isin(labels, [c for c, _ in masks])
            target = np.where(asked, labels, IGNORE_INDEX)
            cm += confusion_matrix(
                assemble_label_map(masks, labels.shape, none_label), target, none_label + 1, IGNORE_INDEX
            )
        mciou, _ = semantic_class_metrics(class_ids, inter, union)
        return {"mcIoU": mciou, **iou_from_confusion(cm, data.num_classes)}
