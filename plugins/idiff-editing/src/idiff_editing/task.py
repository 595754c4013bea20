"""The ``editing`` task: instruction-guided image editing, the instruction taken from the data.

PAPER.md "Encodings" -> Editing: InstructDiffusion trains on InstructPix2Pix's CLIP-filtered data, MagicBrush and
more, the instruction being the edit itself; the target is the edited image. Here:

- training: :class:`~idiff_editing.dataset.EditPairDataset` over the datasets with a positive ``weights`` entry
  (``synthetic`` shapes, ``ip2p``, ``magicbrush``, your ``manifest``);
- test requests: every pair of ``eval_dataset``'s evaluation split, source and target centre-cropped to R x R;
- decoding: the generated image itself;
- evaluation: ``L1`` / ``L2`` against the target, and with ``clip_model`` / ``aesthetic_predictor`` set, ``CLIP-I``,
  ``CLIP-T``, ``CLIP-dir`` and ``aesthetic`` (:mod:`idiff_editing.scores`). The core adds the identity baseline
  (the unchanged source scored the same way): an edit must beat copying the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from idiff.files import atomic_write_json, atomic_write_png
from idiff.tasks.api import EditRequest, EditSample, Task, TaskConfig, TaskContext
from torch.utils.data import Dataset

from idiff_editing.config import EditingConfig
from idiff_editing.dataset import EditPairDataset, WeightedPart
from idiff_editing.ip2p import read_ip2p
from idiff_editing.magicbrush import read_magicbrush
from idiff_editing.manifest_pairs import read_manifest_pairs
from idiff_editing.pairs import EditPair, fit_square
from idiff_editing.scores import ScoreInputs, missing_scores, pixel_errors, quality_scores
from idiff_editing.synthetic import write_synthetic_ip2p

__all__ = ["EditingTask"]


class EditingTask(Task):
    """Instruction-guided image editing on InstructPix2Pix, MagicBrush and JSONL manifests (synthetic by default)."""

    Config = EditingConfig
    config: EditingConfig

    def __init__(self, config: TaskConfig, context: TaskContext) -> None:
        super().__init__(config, context)
        if not isinstance(config, EditingConfig):
            raise TypeError(f"EditingTask needs an EditingConfig, got {type(config).__name__}")
        self._pairs: dict[tuple[str, bool], list[EditPair]] = {}
        self._scorers: tuple[Any, Any] | None = None
        self._told: set[str] = set()

    # ------------------------------------------------------------------ data
    def synthetic_root(self, train: bool) -> Path:
        """The synthetic split's folder (InstructPix2Pix layout)."""
        return self.data_dir / self.config.synthetic_dir / ("train" if train else "test")

    def prepare_data(self) -> None:
        """Write the synthetic train / test splits when enabled, used and missing."""
        cfg = self.config
        if not cfg.synthetic or "synthetic" not in (*cfg.used_datasets, cfg.eval_dataset):
            return
        for train, prompts in ((True, cfg.synthetic_train_images), (False, cfg.synthetic_val_images)):
            root = self.synthetic_root(train)
            if not (root / "seeds.json").is_file():
                seed = cfg.synthetic_seed * 2 + (0 if train else 1)
                write_synthetic_ip2p(root, prompts, seed=seed, size=cfg.synthetic_image_size)

    def _path(self, name: str) -> Path:
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.data_dir / path

    def pairs(self, dataset: str, train: bool) -> list[EditPair]:
        """The pairs of ``dataset``'s training (``train``) or evaluation split, read once (synthetic data first)."""
        if (dataset, train) in self._pairs:
            return self._pairs[dataset, train]
        self.prepare_data()
        cfg, errors = self.config, self.context.errors
        match dataset:
            case "synthetic":
                pairs = read_ip2p(self.synthetic_root(train), "train", (1.0, 0.0, 0.0), errors)
            case "ip2p":
                split = "train" if train else cfg.ip2p_eval_split
                pairs = read_ip2p(self._path(cfg.ip2p_dir), split, cfg.ip2p_fractions, errors)
            case "magicbrush":
                split = cfg.magicbrush_train_split if train else cfg.magicbrush_eval_split
                pairs = read_magicbrush(self._path(cfg.magicbrush_dir) / split, errors)
            case "manifest":
                pairs = read_manifest_pairs(self._path(cfg.manifest if train else cfg.eval_manifest), errors)
            case _:
                raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(cfg.DATASETS)}")
        errors.require(len(pairs), f"task 'editing': {dataset} {'training' if train else 'evaluation'} pairs")
        self._pairs[dataset, train] = pairs
        return pairs

    def train_dataset(self) -> Dataset[EditSample]:
        """Every dataset with a positive weight, weighted as configured (see :mod:`idiff_editing.dataset`)."""
        cfg = self.config
        parts = [WeightedPart(name, self.pairs(name, True), cfg.weights[name]) for name in cfg.used_datasets]
        return EditPairDataset(parts, self.context.resolution, cfg.flip_prob, self.context.seed)

    # ------------------------------------------------------------------ requests
    def test_requests(self) -> list[EditRequest]:
        """One request per evaluation pair (its first variant), source and target centre-cropped to R x R."""
        res, cap = self.context.resolution, self.config.max_test_requests
        requests: list[EditRequest] = []
        for item, pair in enumerate(self.pairs(self.config.eval_dataset, False)):
            if cap and len(requests) >= cap:
                break
            with self.context.errors.guard():
                source, target = pair.load(0)
                meta = {"item": item, "name": pair.name, "input_caption": pair.input_caption,
                        "output_caption": pair.output_caption}
                requests.append(
                    EditRequest(fit_square(source, res), pair.instruction, meta=meta, target=fit_square(target, res))
                )
        return requests

    # ------------------------------------------------------------------ decode / render
    def decode(self, generated: np.ndarray, request: EditRequest) -> np.ndarray:
        """The generated image itself, uint8 (R, R, 3) (brought to the source's side if it differs)."""
        return fit_square(np.asarray(generated, dtype=np.uint8)[..., :3], request.source.shape[0])

    def render(self, request: EditRequest, prediction: Any) -> np.ndarray:
        """Where the edit differs from the ground truth: ``|prediction - target|`` x 4 (black = as the target)."""
        target = request.target if request.target is not None else request.source
        error = np.abs(np.asarray(prediction, np.int16) - np.asarray(target, np.int16)) * 4
        return np.clip(error, 0, 255).astype(np.uint8)

    # ------------------------------------------------------------------ evaluate
    def scorers(self) -> tuple[Any, Any]:
        """(CLIP embedder or None, aesthetic predictor or None), loaded once from the configured paths."""
        if self._scorers is None:
            cfg, embedder, predictor = self.config, None, None
            if cfg.clip_model:
                from idiff.quality.clip_scores import ClipEmbedder

                embedder = ClipEmbedder.from_folder(cfg.clip_model, "task.clip_model", cfg.score_batch_size)
            if cfg.aesthetic_predictor:
                from idiff.quality.aesthetic import load_aesthetic_predictor

                predictor = load_aesthetic_predictor(cfg.aesthetic_predictor, "task.aesthetic_predictor")
            self._scorers = (embedder, predictor)
        return self._scorers

    def evaluate(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> dict[str, float]:
        """Mean L1 / L2 (and CLIP / aesthetic scores when configured) over the evaluated pairs.

        Writes ``<out_dir>/per_image.json`` (name, instruction, every score) and, with ``write_images``,
        ``<out_dir>/edited/<name>.png``.
        """
        if len(requests) != len(predictions):
            raise ValueError(f"{len(requests)} requests but {len(predictions)} predictions")
        edited = [np.asarray(p, dtype=np.uint8) for p in predictions]
        targets = [r.target if r.target is not None else r.source for r in requests]
        rows: list[dict[str, Any]] = []
        for req, image, target in zip(requests, edited, targets, strict=True):
            l1, l2 = pixel_errors(image, target)
            rows.append({"name": req.meta.get("name", ""), "instruction": req.instruction, "L1": l1, "L2": l2})
        embedder, predictor = self.scorers()
        if embedder is not None and requests:
            inputs = ScoreInputs([r.source for r in requests], edited, targets,
                                 [r.meta.get("input_caption", "") for r in requests],
                                 [r.meta.get("output_caption", "") for r in requests])
            for key, values in quality_scores(inputs, embedder, predictor).items():
                for row, value in zip(rows, values, strict=True):
                    row[key] = None if np.isnan(value) else float(value)
        notes = missing_scores(self.config.clip_model, self.config.aesthetic_predictor)
        if embedder is not None and rows and all(row.get("CLIP-T") is None for row in rows):
            notes.append("CLIP-T, CLIP-dir not computed: the evaluation pairs have no captions (InstructPix2Pix's "
                         "prompt.json has them; a manifest needs input_caption / output_caption)")
        for line in notes:
            if line not in self._told:
                self._told.add(line)
                print(f"editing: {line}")
        atomic_write_json(Path(out_dir) / "per_image.json", rows)
        if self.config.write_images:
            for row, image in zip(rows, edited, strict=True):
                name = str(row["name"]).replace("/", "_").replace(":", "_")
                atomic_write_png(Path(out_dir) / "edited" / f"{name}.png", image)
        keys = [k for k in ("L1", "L2", "CLIP-I", "CLIP-T", "CLIP-dir", "aesthetic") if rows and k in rows[0]]
        return {k: float(np.mean(v)) for k in keys if (v := [r[k] for r in rows if r[k] is not None])}
