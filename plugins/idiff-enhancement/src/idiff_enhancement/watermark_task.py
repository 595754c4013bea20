"""The ``watermark_removal`` task plugin: "Remove the watermark from this image" (PAPER.md "Encodings" -> Low-level).

Data is CLWD in its real layout (:mod:`idiff_enhancement.clwd`), sample weight 0.2; evaluation on its test split
(PAPER.md "Evaluation protocols": CLWD PSNR 23.60, VAE bound 24.80). With ``synthetic=True`` a small dataset of
coloured, semi-transparent watermarks is written in that layout when missing
(:mod:`idiff_enhancement.synthetic_watermark`).
"""

from __future__ import annotations

from idiff_enhancement.clwd import load_clwd
from idiff_enhancement.config import WatermarkRemovalConfig
from idiff_enhancement.pairs import PairSource
from idiff_enhancement.synthetic_watermark import write_synthetic_clwd
from idiff_enhancement.task import EnhancementTask
from idiff_enhancement.templates import WATERMARK_TEMPLATES

__all__ = ["WatermarkRemovalConfig", "WatermarkRemovalTask"]


class WatermarkRemovalTask(EnhancementTask):
    """Watermark removal on CLWD (synthetic watermarks by default)."""

    Config = WatermarkRemovalConfig
    config: WatermarkRemovalConfig
    templates = WATERMARK_TEMPLATES

    def prepare_data(self) -> None:
        """Write the synthetic CLWD folder when enabled and missing."""
        cfg = self.config
        if cfg.synthetic and not (self.data_dir / cfg.clwd_dir).exists():
            splits = {cfg.train_split: cfg.synthetic_train_images, cfg.test_split: cfg.synthetic_val_images}
            write_synthetic_clwd(self.data_dir / cfg.clwd_dir, splits, cfg.synthetic_seed, cfg.synthetic_image_size)

    def load_split(self, dataset: str, train: bool) -> list[PairSource]:
        """CLWD's train or test pairs."""
        cfg = self.config
        return list(load_clwd(self.data_dir / cfg.clwd_dir, cfg.train_split if train else cfg.test_split))
