"""The ``keypoints`` task plugin: pose estimation as "circle the joint with a colour".

PAPER.md "Encodings" -> Keypoints (encoder, top-down crops, HRNet augmentation), "Sampling" (guidance
6.0 / 0.5 for keypoints) and "Evaluation protocols" (COCO OKS AP with ground-truth person boxes).
Data is COCO person keypoints in the real layout (see :mod:`idiff_keypoints.coco`), or CrowdPose, AP-10K and
HumanArt in that format, or AIC and MPII in theirs (``format``, ``layout``: :mod:`idiff_keypoints.readers`); with
``synthetic=True`` a small stick-figure dataset in the configured format and layout is written when missing.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from idiff.tasks.api import EditRequest, Task, TaskConfig, TaskContext
from PIL import Image, ImageDraw

from idiff_keypoints.catalogue import named_layout
from idiff_keypoints.coco import KeypointsDataset, PersonInstance
from idiff_keypoints.config import KeypointsConfig
from idiff_keypoints.crops import Augmentation, invert_affine, make_crop, transform_points
from idiff_keypoints.dataset import KeypointsTrainDataset, load_rgb, spread_chunks
from idiff_keypoints.decoding import decode_keypoints
from idiff_keypoints.encoding import COLOUR_NAMES, COLOURS, disk_radius_for, encode_keypoints, validate_keypoint_counts
from idiff_keypoints.evaluation import (
    METRIC_NAMES,
    PCK_ALPHAS,
    evaluate_keypoints,
    merge_views,
    pck,
    person_result,
)
from idiff_keypoints.heatmaps import KeypointHeatmaps
from idiff_keypoints.layouts import KeypointLayout, coco_person_layout
from idiff_keypoints.prediction import KeypointsRequest, keypoint_requests, views_mirrored, write_coco_predictions
from idiff_keypoints.readers import load_keypoints
from idiff_keypoints.synthetic import write_synthetic_keypoints
from idiff_keypoints.templates import KEYPOINT_TEMPLATES

__all__ = ["KeypointsConfig", "KeypointsTask", "KeypointsTrainDataset", "identity_baseline"]


class KeypointsTask(Task):
    """Keypoint detection on COCO, CrowdPose, MPII, AIC, AP-10K or HumanArt data (synthetic stick people by default)."""

    Config = KeypointsConfig
    Request = KeypointsRequest

    def __init__(self, config: TaskConfig, context: TaskContext) -> None:
        super().__init__(config, context)
        if not isinstance(config, KeypointsConfig):
            raise TypeError(f"KeypointsTask needs a KeypointsConfig, got {type(config).__name__}")
        validate_keypoint_counts(config.min_keypoints_per_instruction, config.max_keypoints_per_instruction)
        self.config: KeypointsConfig = config
        self.radius = disk_radius_for(context.resolution, config.disk_radius)
        self._splits: dict[str, KeypointsDataset] = {}

    # ------------------------------------------------------------------ data
    def prepare_data(self) -> None:
        """Write the synthetic train / val splits under ``data_dir`` when enabled and missing."""
        if not self.config.synthetic:
            return
        cfg = self.config
        for split, n in ((cfg.train_split, cfg.synthetic_train_images), (cfg.val_split, cfg.synthetic_val_images)):
            if not (self.data_dir / cfg.annotation_pattern.format(split=split)).is_file():
                write_synthetic_keypoints(
                    self.data_dir,
                    split,
                    n,
                    seed=cfg.synthetic_seed,
                    image_size=cfg.synthetic_image_size,
                    pattern=cfg.annotation_pattern,
                    image_dir=cfg.image_dir_pattern,
                    layout=cfg.layout,
                    fmt=cfg.format,
                )

    def split(self, name: str) -> KeypointsDataset:
        """The parsed split ``name`` (cached); writes synthetic data first if configured and missing."""
        if name not in self._splits:
            if (
                self.config.synthetic
                and not (self.data_dir / self.config.annotation_pattern.format(split=name)).is_file()
            ):
                self.prepare_data()
            self._splits[name] = load_keypoints(
                self.config.format,
                self.data_dir,
                name,
                self.config.annotation_pattern,
                self.config.image_dir_pattern,
                layout=self.config.layout,
                sigmas=self.config.sigmas or None,
                errors=self.context.errors,
            )
        return self._splits[name]

    @property
    def layout(self) -> KeypointLayout:
        """The keypoint layout of the evaluation split."""
        return self.split(self.config.val_split).layout

    def train_dataset(self) -> KeypointsTrainDataset:
        """Augmented, encoded person crops of the train split."""
        return KeypointsTrainDataset(
            self.split(self.config.train_split), self.config, self.context.resolution, self.context.seed
        )

    def learned_decoding(self) -> KeypointHeatmaps:
        """One heatmap per palette colour (:mod:`idiff_keypoints.heatmaps`), trained on this task's crops."""
        return KeypointHeatmaps(self.train_dataset, self.radius)

    def test_requests(self) -> list[EditRequest]:
        """Every joint of every val person, ``ceil(K / max_keypoints)`` instructions per person.

        Each instruction is generated ``test_samples`` times, and as often again of the mirrored crop (its
        left/right joints swapped, as in training) with ``flip_test``; ``evaluate`` merges the answers
        (:func:`merge_views`), ``meta["view"]`` numbering them as :attr:`test_views` lists them.
        ``max_test_requests`` caps the count at whole images (all persons of an image, every view, or none).
        """
        data = self.split(self.config.val_split)
        layout, maxk = data.layout, self.config.max_keypoints_per_instruction
        by_image: OrderedDict[int, list[PersonInstance]] = OrderedDict()
        for inst in data.instances:
            by_image.setdefault(inst.image_id, []).append(inst)
        n_chunks = math.ceil(layout.num_joints / maxk)
        views = self.test_views
        per_person = n_chunks * len(views)
        requests: list[EditRequest] = []
        cap = self.config.max_test_requests
        for persons in by_image.values():
            if cap and requests and len(requests) + per_person * len(persons) > cap:
                break
            image = None
            with self.context.errors.guard():  # under on_error=skip an unreadable image drops its persons
                image = load_rgb(persons[0])
            if image is None:
                continue
            for inst in persons:
                for view, flip in enumerate(views):
                    requests.extend(self._person_requests(image, inst, layout, n_chunks, flip, view))
        return requests

    @property
    def test_views(self) -> list[bool]:
        """Whether each view of a test person is mirrored (``flip_test``, ``test_samples``: ``views_mirrored``)."""
        return views_mirrored(self.config.test_samples, self.config.flip_test)

    def _person_requests(
        self, image: np.ndarray, inst: PersonInstance, layout: KeypointLayout, n_chunks: int, flip: bool, view: int
    ) -> list[EditRequest]:
        """One person's instructions on its (mirrored when ``flip``) ground-truth-box crop.

        The chunks and colours are those of the unmirrored view; a mirrored crop is asked for each joint's mirror
        image (``flip_permutation``), and ``meta["joints"]`` names the person's joint that answer locates.
        """
        res, maxk = self.context.resolution, self.config.max_keypoints_per_instruction
        crop, kp, matrix = make_crop(image, inst.bbox, inst.keypoints, res, layout, Augmentation(flip=flip))
        inverse = invert_affine(matrix).tolist()
        mirror = layout.flip_permutation() if flip else np.arange(layout.num_joints)
        unmirrored = kp[mirror]  # the person's own joints, in this crop's pixels
        rng = np.random.default_rng([self.context.seed, inst.ann_id])
        requests = []
        for chunk in spread_chunks(unmirrored, n_chunks):
            colours = [COLOUR_NAMES[i] for i in rng.permutation(len(COLOUR_NAMES))[: len(chunk)]]
            enc = encode_keypoints(
                crop, kp, layout.names, rng, 1, maxk, radius=self.radius, joints=mirror[chunk].tolist(),
                colours=colours,
            )
            meta: dict[str, Any] = {
                "image_id": inst.image_id,
                "ann_id": inst.ann_id,
                "category_id": inst.category_id,
                "joints": mirror[list(enc.joints)].tolist(),
                "colours": list(enc.colours),
                "inverse_affine": inverse,
                "radius": self.radius,
                "num_joints": layout.num_joints,
                "points": kp[list(enc.joints), :2].tolist(),  # crop pixels: the learned decoder's labels
                "drawn": list(enc.drawn),
                "view": view,
            }
            requests.append(EditRequest(source=crop, instruction=enc.instruction, meta=meta, target=enc.target))
        return requests

    # ------------------------------------------------------------------ decode / evaluate
    def decode(self, generated: np.ndarray, request: EditRequest) -> np.ndarray:
        """(k, 3) ``(x, y, score)`` in crop pixels, one row per requested colour (see ``decode_keypoints``)."""
        src = request.source
        gen = np.asarray(generated, dtype=np.uint8)[..., :3]
        if gen.shape[:2] != src.shape[:2]:
            gen = np.asarray(Image.fromarray(gen).resize(src.shape[1::-1], Image.Resampling.BILINEAR))
        return decode_keypoints(gen, src, request.meta["colours"], radius=request.meta.get("radius", self.radius))

    def evaluate(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> dict[str, float]:
        """Assemble persons, map to image pixels, merge their views, write ``keypoints_results.json``, run COCOeval."""
        if len(requests) != len(predictions):
            raise ValueError(f"{len(requests)} requests but {len(predictions)} predictions")
        data = self.split(self.config.val_split)
        persons: dict[int, dict[str, Any]] = {}
        n_views = len(self.test_views)
        for req, pred in zip(requests, predictions, strict=True):
            m = req.meta
            if m["ann_id"] not in persons:
                persons[m["ann_id"]] = {"image_id": m["image_id"], "category_id": m["category_id"],
                                        "views": np.zeros((n_views, m["num_joints"], 3))}
            p = persons[m["ann_id"]]
            pred = np.asarray(pred, np.float64).reshape(-1, 3)
            xy = transform_points(pred[:, :2], np.asarray(m["inverse_affine"]))
            p["views"][m.get("view", 0), m["joints"]] = np.concatenate([xy, pred[:, 2:3]], axis=1)
        for p in persons.values():
            p["kp"] = merge_views(p["views"])
        results = [person_result(p["image_id"], p["category_id"], p["kp"]) for p in persons.values()]
        if not results:
            return {**dict.fromkeys(METRIC_NAMES, 0.0), **{f"PCK@{a:g}": 0.0 for a in PCK_ALPHAS}}
        metrics = evaluate_keypoints(
            data.coco, results, out_dir, data.layout.sigmas, image_ids=[p["image_id"] for p in persons.values()]
        )
        truth = {inst.ann_id: inst for inst in data.instances}
        ids = [i for i in persons if i in truth]
        metrics.update(pck(
            np.stack([persons[i]["kp"] for i in ids]),
            np.stack([np.asarray(truth[i].keypoints, np.float64) for i in ids]),
            np.stack([np.asarray(truth[i].bbox, np.float64) for i in ids]),
        ))
        return metrics

    # ------------------------------------------------------------------ predict on user images
    @property
    def predict_layout(self) -> KeypointLayout:
        """The layout joint names are read against: the val split's when its annotations exist, else the
        configured catalogue layout (``task.layout``), else COCO-17."""
        cfg = self.config
        if (self.data_dir / cfg.annotation_pattern.format(split=cfg.val_split)).is_file():
            return self.layout
        return coco_person_layout() if cfg.layout == "auto" else named_layout(cfg.layout)

    def predict_requests(self, source: np.ndarray, request: Any) -> list[EditRequest]:
        """The named joints on one image, ``max_keypoints_per_instruction`` per instruction (see ``prediction``);
        ``flip_test`` and ``test_samples`` ask each several times, as in ``test``."""
        cfg = self.config
        return keypoint_requests(
            source, request, self.predict_layout, cfg.max_keypoints_per_instruction, self.radius,
            flip=cfg.flip_test, samples=cfg.test_samples,
        )

    def request_choices(self) -> dict[str, list[str]]:
        """Joint names of the layout, the 9 colours, the instruction templates."""
        return {"joints": list(self.predict_layout.names), "colours": list(COLOUR_NAMES),
                "template": list(KEYPOINT_TEMPLATES)}

    def write_predictions(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> list[Path]:
        """``keypoints.json`` (COCO keypoints) and ``keypoints_results.json`` (COCO results) in image pixels."""
        layout, resolution = self.predict_layout, self.context.resolution
        return write_coco_predictions(requests, predictions, Path(out_dir), layout, resolution)

    def render(self, request: EditRequest, prediction: Any) -> np.ndarray:
        """Decoded points as coloured disks with a contrasting ring and cross over the source."""
        img = Image.fromarray(np.asarray(request.source, np.uint8).copy())
        draw = ImageDraw.Draw(img)
        r = max(self.radius * 0.6, 1.5)
        for (x, y, s), name in zip(np.asarray(prediction).reshape(-1, 3), request.meta["colours"], strict=True):
            if s <= 0:
                continue
            rgb = COLOURS[name]
            ring = (0, 0, 0) if sum(rgb) > 380 else (255, 255, 255)
            draw.ellipse([x - r - 1, y - r - 1, x + r + 1, y + r + 1], fill=ring)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=rgb)
            draw.line([(x - r, y), (x + r, y)], fill=ring)
            draw.line([(x, y - r), (x, y + r)], fill=ring)
        return np.asarray(img, dtype=np.uint8)


def identity_baseline(task: KeypointsTask, out_dir: Path) -> dict[str, float]:
    """Metrics of an identity "model" (generated == source) on the task's test requests: AP ~ 0.

    A sanity floor: a model that learned nothing but to copy its input must score about 0.
    """
    requests = task.test_requests()
    return task.evaluate(requests, [task.decode(r.source, r) for r in requests], Path(out_dir))
