"""What the three enhancement tasks share: weighted training crops, tiled test requests, stitching, PSNR / SSIM.

:class:`EnhancementTask` is the base of :class:`~idiff_enhancement.denoise_task.DenoiseTask` (entry point
``denoise``), :class:`~idiff_enhancement.deblur_task.DeblurTask` (``deblur``) and
:class:`~idiff_enhancement.watermark_task.WatermarkRemovalTask` (``watermark_removal``). A subclass names its
instructions, writes its synthetic data and reads its datasets (:meth:`EnhancementTask.load_split`); the rest is here:

- training: :class:`~idiff_enhancement.dataset.PairCropDataset` over the datasets with a positive weight;
- test requests: every evaluation image cut into R x R tiles (:mod:`idiff_enhancement.tiling`), one request per
  tile, all tiles of an image with the same instruction; ``target`` is the clean tile;
- decoding: the generated tile itself (the task's output *is* an image);
- evaluation: the tiles of each image blended back to its own size and scored against the full-size ground truth
  with PSNR and SSIM (:mod:`idiff_enhancement.metrics`), averaged over images. The core scores the unchanged input
  the same way as ``identity/PSNR`` and ``identity/SSIM``: the floor a model must beat.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from idiff.files import atomic_write_json
from idiff.tasks.api import EditRequest, EditSample, Task, TaskConfig, TaskContext
from PIL import Image
from torch.utils.data import Dataset

from idiff_enhancement.config import EnhancementConfig
from idiff_enhancement.dataset import DatasetPart, PairCropDataset
from idiff_enhancement.images import write_rgb
from idiff_enhancement.metrics import image_quality, mean_quality
from idiff_enhancement.pairs import PairSource
from idiff_enhancement.tiling import TileGrid

__all__ = ["EnhancementTask"]


class EnhancementTask(Task):
    """Base class: a task whose target is the clean version of a degraded source image."""

    Config = EnhancementConfig
    config: Any
    #: The task's instructions (:mod:`idiff_enhancement.templates`).
    templates: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: TaskConfig, context: TaskContext) -> None:
        super().__init__(config, context)
        if not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} needs a {self.Config.__name__}, got {type(config).__name__}")
        self._pairs: dict[tuple[str, bool], list[PairSource]] = {}

    # ------------------------------------------------------------------ data
    @abc.abstractmethod
    def load_split(self, dataset: str, train: bool) -> list[PairSource]:
        """The pairs of ``dataset``'s training (``train``) or evaluation split, read from ``data_dir``."""

    @property
    def eval_dataset(self) -> str:
        """The dataset ``test`` scores (the task's first by default)."""
        return self.config.DATASETS[0]

    def pairs(self, dataset: str, train: bool) -> list[PairSource]:
        """The pairs of a split (cached); writes synthetic data first if configured and missing."""
        key = (dataset, train)
        if key not in self._pairs:
            self.prepare_data()
            self._pairs[key] = self.load_split(dataset, train)
        return self._pairs[key]

    def train_dataset(self) -> Dataset[EditSample]:
        """Aligned random crops of every dataset with a positive weight, weighted as configured."""
        cfg = self.config
        parts = [DatasetPart(name, self.pairs(name, True), cfg.weights[name]) for name in cfg.used_datasets]
        return PairCropDataset(
            parts, self.context.resolution, self.templates, cfg.flip_prob, cfg.resize_short_side, self.context.seed
        )

    # ------------------------------------------------------------------ requests
    @property
    def overlap(self) -> int:
        """Tile overlap in pixels at the run resolution."""
        return min(round(self.config.tile_overlap * self.context.resolution), self.context.resolution - 1)

    def test_requests(self) -> list[EditRequest]:
        """One request per tile of every evaluation image, image by image.

        ``max_test_requests`` caps the count at whole images (an image is scored only with all its tiles); the first
        image is always kept whole.
        """
        res, cap = self.context.resolution, self.config.max_test_requests
        requests: list[EditRequest] = []
        for item, pair in enumerate(self.pairs(self.eval_dataset, False)):
            degraded, clean = pair.load()
            grid = TileGrid(degraded.shape[0], degraded.shape[1], res, self.overlap)
            if cap and requests and len(requests) + len(grid.boxes) > cap:
                break
            rng = np.random.default_rng([self.context.seed, item])
            instruction = self.templates[int(rng.integers(len(self.templates)))]
            tiles = zip(grid.cut(degraded), grid.cut(clean), grid.boxes, strict=True)
            for k, (source, target, box) in enumerate(tiles):
                meta = {"item": item, "name": pair.name, "tile": k, "box": list(box), "size": [grid.height, grid.width]}
                requests.append(EditRequest(source=source, instruction=instruction, meta=meta, target=target))
        return requests

    # ------------------------------------------------------------------ decode / render
    def decode(self, generated: np.ndarray, request: EditRequest) -> np.ndarray:
        """The generated tile, uint8 (R, R, 3) (resized to the source's size if it differs)."""
        image = np.asarray(generated, dtype=np.uint8)[..., :3]
        h, w = request.source.shape[:2]
        if image.shape[:2] != (h, w):
            image = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.BICUBIC), dtype=np.uint8)
        return image

    def render(self, request: EditRequest, prediction: Any) -> np.ndarray:
        """What the model changed: ``|prediction - source|`` amplified 4 times (black = unchanged)."""
        change = np.abs(np.asarray(prediction, np.int16) - np.asarray(request.source, np.int16)) * 4
        return np.clip(change, 0, 255).astype(np.uint8)

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> dict[str, float]:
        """Mean PSNR and SSIM over the evaluation images, each scored at its own size from its blended tiles.

        Writes ``<out_dir>/per_image.json`` (name, PSNR, SSIM per image) and, with ``write_images``,
        ``<out_dir>/restored/<name>.png`` (``/`` in names becomes ``_``).
        """
        if len(requests) != len(predictions):
            raise ValueError(f"{len(requests)} requests but {len(predictions)} predictions")
        tiles: dict[int, dict[int, np.ndarray]] = {}
        metas: dict[int, dict[str, Any]] = {}
        for req, pred in zip(requests, predictions, strict=True):
            tiles.setdefault(req.meta["item"], {})[req.meta["tile"]] = np.asarray(pred)
            metas[req.meta["item"]] = req.meta
        pairs = self.pairs(self.eval_dataset, False)
        rows = []
        for item in sorted(tiles):
            meta = metas[item]
            grid = TileGrid(*meta["size"], self.context.resolution, self.overlap)
            if sorted(tiles[item]) != list(range(len(grid.boxes))):
                raise ValueError(f"image {meta['name']}: {len(tiles[item])} of its {len(grid.boxes)} tiles were scored")
            restored = grid.stitch([tiles[item][k] for k in range(len(grid.boxes))])
            rows.append({"name": meta["name"], **image_quality(restored, pairs[item].load()[1])})
            if self.config.write_images:
                write_rgb(Path(out_dir) / "restored" / f"{meta['name'].replace('/', '_')}.png", restored)
        atomic_write_json(Path(out_dir) / "per_image.json", rows)
        return mean_quality([{"PSNR": r["PSNR"], "SSIM": r["SSIM"]} for r in rows])
