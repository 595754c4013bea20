"""Configuration of the ``denoise``, ``deblur`` and ``watermark_removal`` tasks.

Defaults follow PAPER.md: "Encodings" -> Low-level (target = the clean image; per-dataset sample weights GoPro 2.0,
REDS 0.2, SIDD 20, CLWD 0.2) and "Sampling" (the public examples' low-level guidance, text 1.0 / image 1.0). Every
field is a ``task.<field>=`` override; ``__post_init__`` rejects bad values naming the field and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from idiff.tasks.api import GuidanceScales, TaskConfig

__all__ = ["DeblurConfig", "DenoiseConfig", "EnhancementConfig", "WatermarkRemovalConfig"]


@dataclass
class EnhancementConfig(TaskConfig):
    """Options all three enhancement tasks have (on top of :class:`idiff.tasks.api.TaskConfig`).

    Attributes:
        guidance: text 1.0 / image 1.0, the public code's watermark-removal example (PAPER.md "Sampling").
        weights: sample weight of each training dataset of the task (see :mod:`idiff_enhancement.weighting`);
            0 leaves a dataset out.
        flip_prob: probability of a horizontal flip of a training crop.
        resize_short_side: resize training pairs so the short side is the run resolution before cropping (the public
            code's choice for GoPro, REDS and CLWD); off: crop at the images' own scale.
        tile_overlap: overlap of neighbouring evaluation tiles, as a fraction of the tile side (see
            :mod:`idiff_enhancement.tiling`).
        write_images: write each restored image as ``<run dir>/restored/<name>.png``.
        synthetic_train_images: pairs of the synthetic train split (per dataset).
        synthetic_val_images: pairs of the synthetic evaluation split (per dataset).
        synthetic_image_size: width of the synthetic images (height 9/16 of it for GoPro / REDS, 3/4 for SIDD,
            square for CLWD; SIDD's validation blocks are half of it).
        synthetic_seed: seed of the synthetic data (independent of the run seed).
    """

    guidance: GuidanceScales = field(default_factory=lambda: GuidanceScales(text=1.0, image=1.0))
    weights: dict[str, float] = field(default_factory=dict)
    flip_prob: float = 0.5
    resize_short_side: bool = False
    tile_overlap: float = 0.125
    write_images: bool = True
    synthetic_train_images: int = 200
    synthetic_val_images: int = 16
    synthetic_image_size: int = 128
    synthetic_seed: int = 0

    #: The datasets a task knows, in order; the subclass sets them.
    DATASETS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(self.DATASETS))
        if unknown:
            raise ValueError(f"weights: unknown dataset {unknown[0]!r}; known: {', '.join(self.DATASETS)}")
        values = [float(w) for w in self.weights.values()]
        if self.DATASETS and (any(not w >= 0 for w in values) or not any(w > 0 for w in values)):
            raise ValueError(f"weights must be >= 0 with at least one > 0, got {dict(self.weights)}")
        if not 0 <= self.flip_prob <= 1:
            raise ValueError(f"flip_prob must be in [0, 1], got {self.flip_prob}")
        if not 0 <= self.tile_overlap < 1:
            raise ValueError(f"tile_overlap must be in [0, 1) (a fraction of the tile side), got {self.tile_overlap}")
        if self.synthetic_train_images < 1 or self.synthetic_val_images < 1 or self.synthetic_image_size < 32:
            raise ValueError("synthetic_train_images and synthetic_val_images must be >= 1, synthetic_image_size >= 32")

    @property
    def used_datasets(self) -> list[str]:
        """The datasets with a positive weight, in :attr:`DATASETS` order."""
        return [name for name in self.DATASETS if self.weights.get(name, 0) > 0]


@dataclass
class DenoiseConfig(EnhancementConfig):
    """Options of the ``denoise`` task (SIDD).

    Attributes:
        weights: ``{sidd: 20.0}`` (PAPER.md).
        train_dir: SIDD-Medium sRGB folder (holding ``Data/``) relative to ``data_dir``.
        val_noisy_file: SIDD's noisy validation blocks relative to ``data_dir``.
        val_gt_file: SIDD's ground-truth validation blocks relative to ``data_dir``.
    """

    DATASETS: ClassVar[tuple[str, ...]] = ("sidd",)
    weights: dict[str, float] = field(default_factory=lambda: {"sidd": 20.0})
    train_dir: str = "SIDD_Medium_Srgb"
    val_noisy_file: str = "SIDD_Validation_sRGB/ValidationNoisyBlocksSrgb.mat"
    val_gt_file: str = "SIDD_Validation_sRGB/ValidationGtBlocksSrgb.mat"


@dataclass
class DeblurConfig(EnhancementConfig):
    """Options of the ``deblur`` task (GoPro, REDS).

    Attributes:
        weights: ``{gopro: 2.0, reds: 0.2}`` (PAPER.md); both are trained on.
        eval_dataset: the dataset ``test`` scores: ``gopro`` (its ``test`` split) or ``reds`` (its ``val`` split).
        gopro_dir: the ``GOPRO_Large`` folder relative to ``data_dir``.
        gopro_blur_folder: ``blur`` (averaged encoded frames, the usual benchmark) or ``blur_gamma``.
        gopro_train_split: GoPro's training split folder.
        gopro_test_split: GoPro's test split folder.
        reds_dir: the REDS folder relative to ``data_dir``.
        reds_train_split: REDS's training split.
        reds_val_split: REDS's evaluation split.
        reds_blur_pattern: REDS's blurred-sequence folder relative to ``reds_dir`` (``{split}`` substituted).
        reds_sharp_pattern: REDS's sharp-sequence folder likewise.
    """

    DATASETS: ClassVar[tuple[str, ...]] = ("gopro", "reds")
    weights: dict[str, float] = field(default_factory=lambda: {"gopro": 2.0, "reds": 0.2})
    eval_dataset: str = "gopro"
    gopro_dir: str = "GOPRO_Large"
    gopro_blur_folder: str = "blur"
    gopro_train_split: str = "train"
    gopro_test_split: str = "test"
    reds_dir: str = "REDS"
    reds_train_split: str = "train"
    reds_val_split: str = "val"
    reds_blur_pattern: str = "{split}/{split}_blur"
    reds_sharp_pattern: str = "{split}/{split}_sharp"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.eval_dataset not in self.DATASETS:
            raise ValueError(f"eval_dataset must be one of {', '.join(self.DATASETS)}; got {self.eval_dataset!r}")
        if self.gopro_blur_folder not in ("blur", "blur_gamma"):
            raise ValueError(f"gopro_blur_folder must be blur or blur_gamma; got {self.gopro_blur_folder!r}")
        for key in ("reds_blur_pattern", "reds_sharp_pattern"):
            try:
                getattr(self, key).format(split="train")
            except (KeyError, IndexError, ValueError) as err:
                raise ValueError(f"{key} {getattr(self, key)!r} may only use {{split}} ({err})") from None


@dataclass
class WatermarkRemovalConfig(EnhancementConfig):
    """Options of the ``watermark_removal`` task (CLWD).

    Attributes:
        weights: ``{clwd: 0.2}`` (PAPER.md).
        clwd_dir: the CLWD folder relative to ``data_dir``.
        train_split: CLWD's training split folder.
        test_split: CLWD's test split folder.
    """

    DATASETS: ClassVar[tuple[str, ...]] = ("clwd",)
    weights: dict[str, float] = field(default_factory=lambda: {"clwd": 0.2})
    clwd_dir: str = "CLWD"
    train_split: str = "train"
    test_split: str = "test"
