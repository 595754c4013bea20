"""Reader for CLWD, the Colored Large-scale Watermark Dataset (Liu et al., WACV 2021, WDNet), in its real layout.

60,000 train and 10,000 test images of 256 x 256 with coloured watermarks of varying size, position and opacity::

    <root>/<split>/Watermarked_image/<n>.jpg          # split: train | test; n = 1, 2, ... (not zero-padded)
    <root>/<split>/Watermark_free_image/<n>.jpg
    <root>/<split>/Mask/<n>.png                       # watermark pixels (255)
    <root>/<split>/Alpha/<n>.png                      # the watermark's opacity map
    <root>/<split>/Watermark/<n>.png                  # the watermark's colours

Only the first two folders are read; training and evaluation use the watermarked image as source and the
watermark-free one as target (PAPER.md: CLWD PSNR 23.60).
"""

from __future__ import annotations

from pathlib import Path

from idiff_enhancement.pairs import ImagePair, pair_folders

__all__ = ["CLWD_FOLDERS", "CLWD_LAYOUT", "load_clwd"]

#: Sub-folders of a CLWD split: source, target, and the watermark's mask, alpha and colours.
CLWD_FOLDERS: tuple[str, ...] = ("Watermarked_image", "Watermark_free_image", "Mask", "Alpha", "Watermark")
#: The CLWD layout, for error messages.
CLWD_LAYOUT = "<root>/<split>/{Watermarked_image,Watermark_free_image}/<n>.jpg (CLWD)"


def load_clwd(root: Path | str, split: str) -> list[ImagePair]:
    """Every watermarked / watermark-free pair of a CLWD split, in numeric order; names are the file stems.

    Raises:
        EnhancementDataError: a folder is missing or empty, or an image has no watermark-free counterpart.
    """
    base = Path(root) / split
    return pair_folders(base / CLWD_FOLDERS[0], base / CLWD_FOLDERS[1], CLWD_LAYOUT)
