"""What the two segmentation tasks share: request encoding, the decoder call, the rendering, mask output.

:class:`SegmentationTask` is the base of :class:`~idiff_segmentation.referring_task.ReferringSegmentationTask`
(entry point ``referring_segmentation``) and :class:`~idiff_segmentation.semantic_task.SemanticSegmentationTask`
(entry point ``semantic_segmentation``). Both evaluate at each image's own size: a predicted mask (at the run
resolution, square) is resized back to the image's width and height and compared with the full-size ground truth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from idiff.tasks.api import EditRequest, Task, TaskConfig, TaskContext

from idiff_segmentation.config import TEST_COLOUR_MODES, SegmentationConfig
from idiff_segmentation.decoding import decode_mask
from idiff_segmentation.encoding import COLOUR_NAMES, COLOURS, contrast_colour, encode_mask, overlay_mask
from idiff_segmentation.evaluation import write_mask_png
from idiff_segmentation.grid_decoding import decode_mask_grid
from idiff_segmentation.masks import resize_image, resize_mask
from idiff_segmentation.prediction import mask_box, segmentation_requests, write_instances, write_label_maps
from idiff_segmentation.templates import templates_for

__all__ = ["SegmentationTask"]


class SegmentationTask(Task):
    """Base class: builds requests from (image, mask, name), decodes generated images into boolean masks."""

    Config = SegmentationConfig
    config: Any
    #: ``"referring"`` or ``"semantic"``: which instruction templates the task uses.
    kind = "referring"

    def __init__(self, config: TaskConfig, context: TaskContext) -> None:
        super().__init__(config, context)
        if not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} needs a {self.Config.__name__}, got {type(config).__name__}")
        self._splits: dict[str, Any] = {}  # parsed splits by name, filled by the subclass's ``split``

    # ------------------------------------------------------------------ requests
    def _request_colour(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> str:
        mode = self.config.test_colour
        if mode == "contrast":
            return contrast_colour(image, mask, rng)
        if mode == "random":
            return COLOUR_NAMES[int(rng.integers(len(COLOUR_NAMES)))]
        return mode

    def make_request(
        self, image: np.ndarray, mask: np.ndarray, obj: str, key: list[int], meta: dict[str, Any]
    ) -> EditRequest:
        """One request at the run resolution: ``image`` (full size) and ``mask`` resized, encoded with ``obj``.

        Args:
            image: uint8 (H, W, 3) full-size source.
            mask: boolean (H, W) full-size ground truth (may be empty).
            obj: referring expression or class name.
            key: integers seeding this request's colour and template (with the run seed), e.g. ref and sentence id.
            meta: the task's own fields; ``colour``, ``alpha`` and ``size`` (full ``[width, height]``) are added.
        """
        res = self.context.resolution
        source = resize_image(image, res)
        small = resize_mask(mask, res)
        rng = np.random.default_rng([self.context.seed, *key])
        colour = self._request_colour(source, small, rng)
        enc = encode_mask(source, small, obj, self.kind, rng, colour=colour, alpha=self.config.overlay_alpha)
        meta = {**meta, "colour": colour, "alpha": self.config.overlay_alpha, "size": [image.shape[1], image.shape[0]]}
        return EditRequest(source=source, instruction=enc.instruction, meta=meta, target=enc.target)

    # ------------------------------------------------------------------ decode / render
    def decode(self, generated: np.ndarray, request: EditRequest) -> np.ndarray:
        """Boolean (R, R) mask in the request's colour (``decode_mask``; ``decode_mask_grid`` with ``decode_grid``)."""
        src = request.source
        gen = np.asarray(generated, dtype=np.uint8)[..., :3]
        if gen.shape[:2] != src.shape[:2]:
            gen = resize_image(gen, (src.shape[1], src.shape[0]))
        options = {
            "alpha": request.meta.get("alpha", self.config.overlay_alpha),
            "threshold": self.config.decode_threshold,
            "tolerance": self.config.decode_tolerance,
            "radius": self.config.decode_radius,
        }
        if self.config.decode_grid:
            return decode_mask_grid(gen, src, request.meta["colour"], grid=self.config.decode_grid, **options)
        return decode_mask(gen, src, request.meta["colour"], **options)

    def render(self, request: EditRequest, prediction: Any) -> np.ndarray:
        """The decoded mask over the source in the request's colour, its outline in black or white.

        Referring segmentation also draws the mask's box (its extreme rows and columns) in the outline colour.
        """
        mask = np.asarray(prediction, dtype=bool)
        colour = request.meta["colour"]
        out = overlay_mask(np.asarray(request.source, np.uint8), mask, colour, 0.5)
        inner = np.zeros_like(mask)
        inner[1:-1, 1:-1] = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
        line = (0, 0, 0) if sum(COLOURS[colour]) > 380 else (255, 255, 255)
        out[mask & ~inner] = line
        box = mask_box(mask) if self.kind == "referring" else None
        if box is not None:
            x0, y0, x1, y1 = int(box[0]), int(box[1]), int(box[0] + box[2]) - 1, int(box[1] + box[3]) - 1
            out[y0, x0 : x1 + 1] = out[y1, x0 : x1 + 1] = line
            out[y0 : y1 + 1, x0] = out[y0 : y1 + 1, x1] = line
        return out

    # ------------------------------------------------------------------ predict on user images
    def predict_requests(self, source: np.ndarray, request: Any) -> list[EditRequest]:
        """One request per expression / class on one image (see :mod:`idiff_segmentation.prediction`)."""
        return segmentation_requests(source, request, self.kind, self.config.overlay_alpha, self.context.seed)

    def request_choices(self) -> dict[str, list[str]]:
        """The colour choices and the instruction templates."""
        return {"colour": list(TEST_COLOUR_MODES + COLOUR_NAMES), "template": list(templates_for(self.kind))}

    def write_predictions(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> list[Path]:
        """Referring: mask PNGs and a COCO instances file with boxes; semantic: COCO-Stuff label PNGs."""
        write = write_instances if self.kind == "referring" else write_label_maps
        return write(requests, predictions, Path(out_dir))

    # ------------------------------------------------------------------ evaluation helpers
    @staticmethod
    def full_size(prediction: Any, meta: dict[str, Any]) -> np.ndarray:
        """A predicted (R, R) mask resized to the image's own ``meta["size"]`` (width, height)."""
        width, height = meta["size"]
        return resize_mask(np.asarray(prediction, dtype=bool), (int(width), int(height)))

    def save_mask(self, out_dir: Path, name: str, mask: np.ndarray) -> None:
        """Write ``<out_dir>/masks/<name>.png`` (0 / 255) when ``write_masks`` is on."""
        if self.config.write_masks:
            write_mask_png(Path(out_dir) / "masks" / f"{name}.png", mask)

    @staticmethod
    def check_lengths(requests: list[EditRequest], predictions: list[Any]) -> None:
        """Raise when requests and predictions do not pair up."""
        if len(requests) != len(predictions):
            raise ValueError(f"{len(requests)} requests but {len(predictions)} predictions")
