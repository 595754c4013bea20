"""Readers for the video deblurring datasets GoPro and REDS in their real layouts.

GoPro (``GOPRO_Large``, Nah et al., CVPR 2017): 1280 x 720 frames, 2,103 train and 1,111 test pairs. Each blurred
frame is the average of 7-13 consecutive sharp 240 fps frames; ``sharp`` holds the middle one. ``blur`` averages
the stored (gamma-encoded) frames, ``blur_gamma`` averages in linear light (an assumed gamma of 2.2)::

    <root>/<split>/<sequence>/blur/<frame>.png          # split: train | test; e.g. GOPR0372_07_00/blur/000047.png
    <root>/<split>/<sequence>/blur_gamma/<frame>.png
    <root>/<split>/<sequence>/sharp/<frame>.png

REDS (Nah et al., CVPR Workshops 2019, NTIRE video deblurring): 1280 x 720, 240 train and 30 val sequences of 100
frames, blurred by averaging frames of a 1,920 fps (interpolated) video in linear light. As its archives unpack::

    <root>/<split>/<split>_blur/<sequence>/<frame>.png   # e.g. train/train_blur/000/00000000.png
    <root>/<split>/<split>_sharp/<sequence>/<frame>.png

(``blur_pattern`` / ``sharp_pattern`` take other arrangements, e.g. ``{split}_blur`` for a flattened copy.)
"""

from __future__ import annotations

from pathlib import Path

from idiff_enhancement.images import EnhancementDataError
from idiff_enhancement.pairs import ImagePair, pair_folders, require_dir, subfolders

__all__ = ["GOPRO_LAYOUT", "REDS_LAYOUT", "load_gopro", "load_reds"]

#: The GoPro layout, for error messages.
GOPRO_LAYOUT = "<root>/<split>/<sequence>/{blur,sharp}/<frame>.png (GoPro, GOPRO_Large)"
#: The REDS layout, for error messages.
REDS_LAYOUT = "<root>/<split>/<split>_{blur,sharp}/<sequence>/<frame>.png (REDS)"


def load_gopro(root: Path | str, split: str, blur_folder: str = "blur") -> list[ImagePair]:
    """Every blurred / sharp frame pair of a GoPro split; names are ``<sequence>/<frame>``.

    Args:
        root: the ``GOPRO_Large`` folder.
        split: ``train`` or ``test``.
        blur_folder: ``blur`` or ``blur_gamma``.

    Raises:
        EnhancementDataError: the split or a sequence's folder is missing, or a frame has no sharp counterpart.
    """
    split_dir = require_dir(Path(root) / split, GOPRO_LAYOUT)
    sequences = subfolders(split_dir)
    if not sequences:
        raise EnhancementDataError(f"{split_dir}: no sequence folders; expected {GOPRO_LAYOUT}")
    pairs: list[ImagePair] = []
    for seq in sequences:
        pairs += pair_folders(seq / blur_folder, seq / "sharp", GOPRO_LAYOUT, prefix=f"{seq.name}/")
    return pairs


def load_reds(
    root: Path | str,
    split: str,
    blur_pattern: str = "{split}/{split}_blur",
    sharp_pattern: str = "{split}/{split}_sharp",
) -> list[ImagePair]:
    """Every blurred / sharp frame pair of a REDS split; names are ``<sequence>/<frame>``.

    Args:
        root: the REDS folder.
        split: ``train`` or ``val``.
        blur_pattern: folder of the blurred sequences relative to ``root`` (``{split}`` substituted).
        sharp_pattern: folder of the sharp sequences likewise.

    Raises:
        EnhancementDataError: a folder is missing, or a frame has no sharp counterpart.
    """
    blur_dir = require_dir(Path(root) / blur_pattern.format(split=split), REDS_LAYOUT)
    sharp_dir = require_dir(Path(root) / sharp_pattern.format(split=split), REDS_LAYOUT)
    sequences = subfolders(blur_dir)
    if not sequences:
        raise EnhancementDataError(f"{blur_dir}: no sequence folders; expected {REDS_LAYOUT}")
    pairs: list[ImagePair] = []
    for seq in sequences:
        pairs += pair_folders(seq, sharp_dir / seq.name, REDS_LAYOUT, prefix=f"{seq.name}/")
    return pairs
