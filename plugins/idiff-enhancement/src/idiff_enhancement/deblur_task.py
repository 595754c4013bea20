"""The ``deblur`` task plugin: "Sharpen this blurry image" (PAPER.md "Encodings" -> Low-level, GoPro and REDS).

Training mixes GoPro (sample weight 2.0) and REDS (0.2) (:mod:`idiff_enhancement.gopro`); ``eval_dataset`` picks the
benchmark: GoPro's test split at full 1280 x 720 by tiles (PAPER.md "Evaluation protocols": GoPro PSNR 23.58, VAE
bound 29.54) or REDS's val split. With ``synthetic=True`` small datasets blurred by frame averaging along a shaking
camera path are written in both layouts when missing (:mod:`idiff_enhancement.synthetic_blur`).
"""

from __future__ import annotations

from idiff_enhancement.config import DeblurConfig
from idiff_enhancement.gopro import load_gopro, load_reds
from idiff_enhancement.pairs import PairSource
from idiff_enhancement.synthetic_blur import write_synthetic_gopro, write_synthetic_reds
from idiff_enhancement.task import EnhancementTask
from idiff_enhancement.templates import DEBLUR_TEMPLATES

__all__ = ["DeblurConfig", "DeblurTask"]


class DeblurTask(EnhancementTask):
    """Deblurring on GoPro and REDS (synthetic shaken-camera videos by default)."""

    Config = DeblurConfig
    config: DeblurConfig
    templates = DEBLUR_TEMPLATES

    @property
    def eval_dataset(self) -> str:
        """``eval_dataset`` of the config."""
        return self.config.eval_dataset

    def prepare_data(self) -> None:
        """Write the synthetic GoPro / REDS folders the run uses (trained on or evaluated) when enabled and missing."""
        cfg = self.config
        if not cfg.synthetic:
            return
        needed = {*cfg.used_datasets, cfg.eval_dataset}
        n_train, n_val, width = cfg.synthetic_train_images, cfg.synthetic_val_images, cfg.synthetic_image_size
        if "gopro" in needed and not (self.data_dir / cfg.gopro_dir).exists():
            splits = {cfg.gopro_train_split: n_train, cfg.gopro_test_split: n_val}
            write_synthetic_gopro(self.data_dir / cfg.gopro_dir, splits, cfg.synthetic_seed, width)
        if "reds" in needed and not (self.data_dir / cfg.reds_dir).exists():
            splits = {cfg.reds_train_split: n_train, cfg.reds_val_split: n_val}
            write_synthetic_reds(
                self.data_dir / cfg.reds_dir,
                splits,
                cfg.synthetic_seed,
                width,
                blur_pattern=cfg.reds_blur_pattern,
                sharp_pattern=cfg.reds_sharp_pattern,
            )

    def load_split(self, dataset: str, train: bool) -> list[PairSource]:
        """GoPro's train / test or REDS's train / val pairs."""
        cfg = self.config
        if dataset == "gopro":
            split = cfg.gopro_train_split if train else cfg.gopro_test_split
            return list(load_gopro(self.data_dir / cfg.gopro_dir, split, cfg.gopro_blur_folder))
        split = cfg.reds_train_split if train else cfg.reds_val_split
        return list(load_reds(self.data_dir / cfg.reds_dir, split, cfg.reds_blur_pattern, cfg.reds_sharp_pattern))
