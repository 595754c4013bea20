"""The ``detection`` task plugin: object detection as "mark every <category> in <colour>".

PAPER.md "Encodings" -> Detection, the paper's unseen task: ask for a segmentation-like mark, take each box from a
marked region's extreme rows and columns. Data is COCO instances in the real layout
(:mod:`idiff_detection.instances`); with ``synthetic=True`` a dataset of shapes in that layout is written when
missing. Scored with pycocotools ``COCOeval(iouType="bbox")``.

The plugin is written against idiff's public plugin API only (:mod:`idiff.tasks.api`, :mod:`idiff.errors`,
:mod:`idiff.files`); it is the worked example of docs/adding-a-task.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from idiff.tasks.api import EditRequest, EditSample, Task, TaskConfig, TaskContext
from PIL import Image, ImageDraw
from torch.utils.data import Dataset

from idiff_detection.boxes import decode_boxes
from idiff_detection.config import DetectionConfig
from idiff_detection.dataset import DetectionTrainDataset, object_regions
from idiff_detection.evaluation import box_result, evaluate_boxes
from idiff_detection.instances import InstancesDataset, load_coco_instances, read_rgb
from idiff_detection.marks import COLOURS, encode_detection, far_colour, to_square
from idiff_detection.synthetic import write_synthetic_instances

__all__ = ["DetectionConfig", "DetectionTask"]


class DetectionTask(Task):
    """Object detection on COCO instances data (synthetic shapes by default)."""

    Config = DetectionConfig

    def __init__(self, config: TaskConfig, context: TaskContext) -> None:
        super().__init__(config, context)
        if not isinstance(config, DetectionConfig):
            raise TypeError(f"DetectionTask needs a DetectionConfig, got {type(config).__name__}")
        self.config: DetectionConfig = config
        self._splits: dict[str, InstancesDataset] = {}

    # ------------------------------------------------------------------ data
    def annotation_file(self, split: str) -> Path:
        """The instances file of ``split`` under ``data_dir``."""
        return self.data_dir / self.config.annotation_pattern.format(split=split)

    def prepare_data(self) -> None:
        """Write the synthetic train / val splits under ``data_dir`` when enabled and missing."""
        cfg = self.config
        if not cfg.synthetic:
            return
        for split, n in ((cfg.train_split, cfg.synthetic_train_images), (cfg.val_split, cfg.synthetic_val_images)):
            if not self.annotation_file(split).is_file():
                write_synthetic_instances(
                    self.data_dir, split, n, seed=cfg.synthetic_seed, image_size=cfg.synthetic_image_size,
                    pattern=cfg.annotation_pattern, image_dir=cfg.image_dir_pattern,
                )

    def split(self, name: str) -> InstancesDataset:
        """The parsed split ``name`` (cached); writes the synthetic data first if configured and missing."""
        if name not in self._splits:
            self.prepare_data()
            cfg = self.config
            self._splits[name] = load_coco_instances(self.data_dir, name, cfg.annotation_pattern, cfg.image_dir_pattern)
        return self._splits[name]

    def train_dataset(self) -> Dataset[EditSample]:
        """One item per train image with objects; a random category of it marked per call."""
        data = self.split(self.config.train_split)
        return DetectionTrainDataset(data, self.config, self.context.resolution, self.context.seed)

    def test_requests(self) -> list[EditRequest]:
        """One request per (val image, category): the image's own categories, or every one (``test_categories``).

        ``max_test_requests`` caps the count at whole images, so every evaluated image has all its requests.
        """
        cfg, res = self.config, self.context.resolution
        data = self.split(cfg.val_split)
        requests: list[EditRequest] = []
        for entry in data.images:
            categories = entry.category_ids() if cfg.test_categories == "present" else list(data.categories)
            if cfg.max_test_requests and requests and len(requests) + len(categories) > cfg.max_test_requests:
                break
            if not categories:
                continue
            source = to_square(read_rgb(entry.path), res)
            for category in categories:
                regions = object_regions(data, entry, category, cfg.mark, res)
                rng = np.random.default_rng([self.context.seed, entry.image_id, category])
                colour = self._test_colour(source, np.logical_or.reduce([np.zeros((res, res), bool), *regions]), rng)
                enc = encode_detection(source, regions, data.categories[category], rng, cfg.mark, colour,
                                       alpha=cfg.overlay_alpha)
                meta = {"image_id": entry.image_id, "category_id": category, "colour": colour,
                        "alpha": cfg.overlay_alpha, "size": [entry.width, entry.height]}
                requests.append(EditRequest(source=source, instruction=enc.instruction, meta=meta, target=enc.target))
        return requests

    def _test_colour(self, source: np.ndarray, marked: np.ndarray, rng: np.random.Generator) -> str:
        match self.config.test_colour:
            case "contrast":
                return far_colour(source, marked, rng)
            case "random":
                return list(COLOURS)[int(rng.integers(len(COLOURS)))]
            case fixed:
                return fixed

    # ------------------------------------------------------------------ decode / evaluate / render
    def decode(self, generated: np.ndarray, request: EditRequest) -> np.ndarray:
        """(n, 5) ``(x, y, w, h, score)`` in request pixels, one row per marked region (see ``decode_boxes``)."""
        source = request.source
        generated = to_square(np.asarray(generated, dtype=np.uint8)[..., :3], source.shape[0])
        min_area = max(1, round(self.config.min_box_area * (source.shape[0] / 64) ** 2))
        return decode_boxes(
            generated, source, request.meta["colour"], alpha=request.meta["alpha"],
            threshold=self.config.decode_threshold, min_contrast=self.config.decode_min_contrast, min_area=min_area,
        )

    def evaluate(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> dict[str, float]:
        """Boxes scaled back to each image's size, ``detection_results.json`` written, COCOeval bbox AP."""
        if len(requests) != len(predictions):
            raise ValueError(f"{len(requests)} requests but {len(predictions)} predictions")
        results = []
        for request, boxes in zip(requests, predictions, strict=True):
            width, height = request.meta["size"]
            scale = np.array([width, height, width, height]) / request.source.shape[0]
            for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 5):
                results.append(box_result(request.meta["image_id"], request.meta["category_id"], box[:4] * scale,
                                          box[4]))
        images = [r.meta["image_id"] for r in requests]
        return evaluate_boxes(self.split(self.config.val_split).coco, results, out_dir, image_ids=images)

    def render(self, request: EditRequest, prediction: Any) -> np.ndarray:
        """The decoded boxes as rectangles in the request's colour over the source, their score as line width."""
        view = Image.fromarray(np.asarray(request.source, dtype=np.uint8).copy())
        draw = ImageDraw.Draw(view)
        for x, y, w, h, score in np.asarray(prediction, dtype=np.float64).reshape(-1, 5):
            draw.rectangle([x, y, x + w - 1, y + h - 1], outline=COLOURS[request.meta["colour"]],
                           width=1 + int(score >= 0.5))
        return np.asarray(view, dtype=np.uint8)
