"""Configuration of the ``editing`` task.

Every field is a ``task.<field>=`` override (``data.tasks.editing.<field>=`` when editing is one task of a mixture);
``__post_init__`` rejects bad values naming the field and what is allowed. Guidance keeps :class:`TaskConfig`'s
default, text 5.0 / image 1.25: the paper's editing scales (PAPER.md "Sampling").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from idiff.tasks.api import TaskConfig

__all__ = ["EditingConfig"]


@dataclass
class EditingConfig(TaskConfig):
    """Options of the ``editing`` task (on top of :class:`idiff.tasks.api.TaskConfig`).

    Attributes:
        weights: sample weight of each editing dataset (``synthetic``, ``ip2p``, ``magicbrush``, ``manifest``): a
            dataset of N pairs gives ``round(w N)`` samples per pass; 0 or absent leaves it out. Default: the
            synthetic shapes only; e.g. ``+task.weights.ip2p=1.0 +task.weights.magicbrush=2.0``.
        eval_dataset: the dataset ``test`` scores (its evaluation split).
        synthetic_dir: the synthetic data's folder (``train/`` and ``test/``, each in the InstructPix2Pix layout).
        ip2p_dir: InstructPix2Pix's ``clip-filtered-dataset`` (holding ``seeds.json``).
        ip2p_fractions: InstructPix2Pix's train / val / test fractions of ``seeds.json``, in order.
        ip2p_eval_split: the split ``test`` scores: ``val`` or ``test``.
        magicbrush_dir: the unzipped MagicBrush release (holding the split folders).
        magicbrush_train_split: MagicBrush's training split folder.
        magicbrush_eval_split: the split folder ``test`` scores (``dev``; ``test`` once you have its zip).
        manifest: JSONL manifest of your own training pairs (``{source, target, instruction}`` per line).
        eval_manifest: JSONL manifest of your own evaluation pairs (needed when ``eval_dataset=manifest``).
        flip_prob: probability of a horizontal flip of a training pair (off: instructions may say left / right).
        clip_model: a local ``transformers`` CLIP folder; when set, ``test`` adds CLIP-I, CLIP-T and CLIP-dir
            (never downloaded).
        aesthetic_predictor: a local state dict of the LAION improved aesthetic predictor (needs ``clip_model``,
            CLIP ViT-L/14 for the released weights); when set, ``test`` adds the aesthetic score.
        score_batch_size: images per CLIP forward pass when scoring.
        write_images: write each edited image as ``<run dir>/edited/<name>.png``.
        synthetic_train_images: prompts of the synthetic train split.
        synthetic_val_images: prompts of the synthetic test split.
        synthetic_image_size: side of the synthetic images.
        synthetic_seed: seed of the synthetic data (independent of the run seed).
    """

    #: The datasets the task reads, in order.
    DATASETS: ClassVar[tuple[str, ...]] = ("synthetic", "ip2p", "magicbrush", "manifest")

    weights: dict[str, float] = field(default_factory=lambda: {"synthetic": 1.0})
    eval_dataset: str = "synthetic"
    synthetic_dir: str = "synthetic"
    ip2p_dir: str = "clip-filtered-dataset"
    ip2p_fractions: list[float] = field(default_factory=lambda: [0.9, 0.05, 0.05])
    ip2p_eval_split: str = "test"
    magicbrush_dir: str = "MagicBrush"
    magicbrush_train_split: str = "train"
    magicbrush_eval_split: str = "dev"
    manifest: str = ""
    eval_manifest: str = ""
    flip_prob: float = 0.0
    clip_model: str = ""
    aesthetic_predictor: str = ""
    score_batch_size: int = 16
    write_images: bool = True
    synthetic_train_images: int = 200
    synthetic_val_images: int = 16
    synthetic_image_size: int = 64
    synthetic_seed: int = 0

    def __post_init__(self) -> None:
        for name, weight in self.weights.items():
            if name not in self.DATASETS:
                raise ValueError(f"weights: unknown dataset {name!r}; known: {', '.join(self.DATASETS)}")
            if not float(weight) >= 0:
                raise ValueError(f"weights.{name} must be >= 0 (0 leaves it out), got {weight}")
        if not self.used_datasets:
            raise ValueError(f"weights: give at least one dataset a weight > 0, got {dict(self.weights)}")
        if self.eval_dataset not in self.DATASETS:
            raise ValueError(f"eval_dataset must be one of {', '.join(self.DATASETS)}; got {self.eval_dataset!r}")
        if self.ip2p_eval_split not in ("val", "test"):
            raise ValueError(f"ip2p_eval_split must be one of val, test; got {self.ip2p_eval_split!r}")
        fractions = [float(f) for f in self.ip2p_fractions]
        if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
            raise ValueError(f"ip2p_fractions must be 3 numbers >= 0 summing to 1 (train, val, test): {fractions}")
        if self.weights.get("manifest", 0) > 0 and not self.manifest:
            raise ValueError("weights.manifest > 0 needs manifest=<your pairs.jsonl>")
        if self.eval_dataset == "manifest" and not self.eval_manifest:
            raise ValueError("eval_dataset=manifest needs eval_manifest=<your evaluation pairs.jsonl>")
        if self.aesthetic_predictor and not self.clip_model:
            raise ValueError("aesthetic_predictor needs clip_model (the CLIP ViT-L/14 folder its MLP was trained on)")
        if not 0 <= self.flip_prob <= 1:
            raise ValueError(f"flip_prob must be in [0, 1], got {self.flip_prob}")
        for key, low in (("score_batch_size", 1), ("synthetic_train_images", 1), ("synthetic_val_images", 1),
                         ("synthetic_image_size", 16)):
            if getattr(self, key) < low:
                raise ValueError(f"{key} must be >= {low}, got {getattr(self, key)}")

    @property
    def used_datasets(self) -> list[str]:
        """The datasets with a positive weight, in :attr:`DATASETS` order."""
        return [name for name in self.DATASETS if self.weights.get(name, 0) > 0]
