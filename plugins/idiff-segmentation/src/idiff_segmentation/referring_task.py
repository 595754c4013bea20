"""The ``referring_segmentation`` task plugin: "mark the pixels of <expression> in <colour>".

PAPER.md "Encodings" -> Segmentation (overlay at transparency 0.5, 8 colours; one referring sentence fills
``{object}``), "Sampling" (guidance 7.5 / 1.5) and "Evaluation protocols" (cIoU on RefCOCO, RefCOCO+, RefCOCOg and
gRefCOCO). Data is REFER / gRefCOCO in the real layout (:mod:`idiff_segmentation.refer`); with ``synthetic=True``
a small dataset of coloured shapes in that layout is written when its refs file is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from idiff.tasks.api import EditRequest

from idiff_segmentation.config import ReferringConfig
from idiff_segmentation.datasets import ReferringTrainDataset
from idiff_segmentation.evaluation import mask_counts, referring_metrics
from idiff_segmentation.learned_masks import MaskMaps
from idiff_segmentation.masks import resize_mask
from idiff_segmentation.prediction import ReferringRequest
from idiff_segmentation.refer import ReferringDataset, ReferringExpression, load_referring, refs_path
from idiff_segmentation.synthetic_refer import write_synthetic_refer
from idiff_segmentation.task import SegmentationTask

__all__ = ["ReferringConfig", "ReferringSegmentationTask"]


class ReferringSegmentationTask(SegmentationTask):
    """Referring segmentation on REFER / gRefCOCO data (synthetic shapes by default)."""

    Config = ReferringConfig
    Request = ReferringRequest
    config: ReferringConfig
    kind = "referring"

    # ------------------------------------------------------------------ data
    @property
    def refs_file(self) -> Path:
        """The refs file of the configured dataset and splitBy under ``data_dir``."""
        return refs_path(self.data_dir, self.config.dataset, self.config.split_by)

    def prepare_data(self) -> None:
        """Write the synthetic dataset under ``data_dir`` when enabled and its refs file is missing."""
        cfg = self.config
        if cfg.synthetic and not self.refs_file.is_file():
            write_synthetic_refer(
                self.data_dir,
                cfg.dataset,
                cfg.split_by,
                num_train=cfg.synthetic_train_images,
                num_val=cfg.synthetic_val_images,
                seed=cfg.synthetic_seed,
                image_size=cfg.synthetic_image_size,
                image_pattern=cfg.image_pattern,
                val_split=cfg.val_split,
                train_split=cfg.train_split,
            )

    def split(self, name: str) -> ReferringDataset:
        """The expressions of split ``name`` (cached); writes synthetic data first if configured and missing."""
        if name not in self._splits:
            self.prepare_data()
            cfg = self.config
            self._splits[name] = load_referring(
                self.data_dir, cfg.dataset, cfg.split_by, [name], cfg.image_pattern, self.context.errors
            )
        return self._splits[name]

    def train_dataset(self) -> ReferringTrainDataset:
        """One encoded sample per ref of the train split (a random sentence, colour and template per call)."""
        data = self.split(self.config.train_split)
        return ReferringTrainDataset(data, self.context.resolution, self.config.overlay_alpha, self.context.seed)

    def learned_decoding(self) -> MaskMaps:
        """One mask map (:mod:`idiff_segmentation.learned_masks`), trained on this task's encoded refs."""
        return MaskMaps(self.train_dataset, self.request_mask)

    def request_mask(self, request: EditRequest) -> np.ndarray:
        """The boolean (R, R) ground-truth mask of a test request, at the run resolution."""
        data = self.split(self.config.val_split)
        lookup = {(e.ref_id, e.sent_id): e for e in data.expressions}
        expression = lookup[(request.meta["ref_id"], request.meta["sent_id"])]
        return resize_mask(data.mask(expression), request.source.shape[0])

    def test_requests(self) -> list[EditRequest]:
        """One request per sentence of the val split, in file order; at most ``max_test_requests`` (0 = all)."""
        data = self.split(self.config.val_split)
        expressions = data.expressions
        if self.config.max_test_requests:
            expressions = expressions[: self.config.max_test_requests]
        requests: list[EditRequest] = []
        images: dict[int, Any] = {}
        for e in expressions:
            with self.context.errors.guard():  # under on_error=skip an unreadable image or mask drops the sentence
                if e.image_id not in images:
                    images = {e.image_id: data.load_image(e.image_id)}
                meta = {"ref_id": e.ref_id, "sent_id": e.sent_id, "image_id": e.image_id, "no_target": e.no_target}
                requests.append(
                    self.make_request(images[e.image_id], data.mask(e), e.sentence, [e.ref_id, e.sent_id], meta)
                )
        return requests

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> dict[str, float]:
        """cIoU, mIoU, Pr@0.5/0.7/0.9 (+ N-acc, T-acc with no-target expressions) at the images' own size.

        Predicted masks are written to ``<out_dir>/masks/<ref_id>_<sent_id>.png`` (see ``write_masks``).
        """
        self.check_lengths(requests, predictions)
        data = self.split(self.config.val_split)
        lookup: dict[tuple[int, int], ReferringExpression] = {(e.ref_id, e.sent_id): e for e in data.expressions}
        inter, union, target_empty, prediction_empty = [], [], [], []
        for req, pred in zip(requests, predictions, strict=True):
            e = lookup[(req.meta["ref_id"], req.meta["sent_id"])]
            mask = self.full_size(pred, req.meta)
            truth = data.mask(e)
            i, u = mask_counts(mask, truth)
            inter.append(i)
            union.append(u)
            target_empty.append(not truth.any())
            prediction_empty.append(not mask.any())
            self.save_mask(out_dir, f"{e.ref_id}_{e.sent_id}", mask)
        return referring_metrics(inter, union, target_empty, prediction_empty)
