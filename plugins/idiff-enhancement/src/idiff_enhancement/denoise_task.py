"""The ``denoise`` task plugin: "Remove the noise from this image" (PAPER.md "Encodings" -> Low-level, SIDD).

Training pairs are SIDD-Medium sRGB (:func:`idiff_enhancement.sidd.load_sidd_medium`) with sample weight 20;
evaluation is on SIDD's validation blocks (PAPER.md "Evaluation protocols": SIDD PSNR 34.26, VAE bound 36.56).
With ``synthetic=True`` a small dataset with a camera noise model is written in both layouts when missing
(:mod:`idiff_enhancement.synthetic_noise`).
"""

from __future__ import annotations

from idiff_enhancement.config import DenoiseConfig
from idiff_enhancement.pairs import PairSource
from idiff_enhancement.sidd import load_sidd_blocks, load_sidd_medium
from idiff_enhancement.synthetic_noise import write_synthetic_sidd_blocks, write_synthetic_sidd_medium
from idiff_enhancement.task import EnhancementTask
from idiff_enhancement.templates import DENOISE_TEMPLATES

__all__ = ["DenoiseConfig", "DenoiseTask"]


class DenoiseTask(EnhancementTask):
    """Denoising on SIDD (synthetic camera noise by default)."""

    Config = DenoiseConfig
    config: DenoiseConfig
    templates = DENOISE_TEMPLATES

    def prepare_data(self) -> None:
        """Write the synthetic SIDD-Medium folder and the validation blocks when enabled and missing."""
        cfg = self.config
        if not cfg.synthetic:
            return
        root = self.data_dir
        if not (root / cfg.train_dir).exists():
            write_synthetic_sidd_medium(
                root / cfg.train_dir, cfg.synthetic_train_images, cfg.synthetic_seed, cfg.synthetic_image_size
            )
        if not ((root / cfg.val_noisy_file).is_file() and (root / cfg.val_gt_file).is_file()):
            write_synthetic_sidd_blocks(
                root / cfg.val_noisy_file,
                root / cfg.val_gt_file,
                cfg.synthetic_val_images,
                cfg.synthetic_seed,
                block_size=cfg.synthetic_image_size // 2,
            )

    def load_split(self, dataset: str, train: bool) -> list[PairSource]:
        """SIDD-Medium pairs for training, the validation blocks for evaluation."""
        cfg = self.config
        if train:
            return list(load_sidd_medium(self.data_dir / cfg.train_dir))
        return list(load_sidd_blocks(self.data_dir / cfg.val_noisy_file, self.data_dir / cfg.val_gt_file))
