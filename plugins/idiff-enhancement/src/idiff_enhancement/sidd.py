"""Reader for SIDD, the Smartphone Image Denoising Dataset (Abdelhamed et al., CVPR 2018), in its real layouts.

SIDD-Medium, sRGB (training; 160 scene instances, two noisy / ground-truth pairs each)::

    <root>/Data/<scene>/<id>_NOISY_SRGB_<nnn>.PNG      # e.g. 0001_001_S6_00100_00060_3200_L/0001_NOISY_SRGB_010.PNG
    <root>/Data/<scene>/<id>_GT_SRGB_<nnn>.PNG

The scene folder name is ``<instance>_<scene>_<phone>_<ISO>_<shutter>_<illuminant K>_<brightness L|N|H>``.

SIDD validation, sRGB (evaluation; the benchmark's own ground truth is not public): two MATLAB files,
``ValidationNoisyBlocksSrgb.mat`` and ``ValidationGtBlocksSrgb.mat``, each holding one uint8 array named like the
file, of shape (40 images, 32 blocks, 256, 256, 3). Every block is one evaluation image (PAPER.md: SIDD PSNR 34.26).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from idiff_enhancement.images import EnhancementDataError
from idiff_enhancement.pairs import ImagePair, natural_key, require_dir, subfolders

__all__ = ["SIDD_MEDIUM_LAYOUT", "BlockPair", "SiddBlocks", "load_sidd_blocks", "load_sidd_medium"]

#: The SIDD-Medium layout, for error messages.
SIDD_MEDIUM_LAYOUT = "<root>/Data/<scene>/<id>_NOISY_SRGB_<nnn>.PNG + <id>_GT_SRGB_<nnn>.PNG (SIDD-Medium sRGB)"
_NOISY = re.compile(r"^(?P<id>\d+)_NOISY_SRGB_(?P<n>\d+)\.png$", re.IGNORECASE)


def load_sidd_medium(root: Path | str) -> list[ImagePair]:
    """Every noisy / ground-truth pair under ``<root>/Data``, scene by scene; names are ``<scene>/<id>_<nnn>``.

    Raises:
        EnhancementDataError: ``Data`` is missing, holds no noisy image, or a noisy image has no ground truth.
    """
    data = require_dir(Path(root) / "Data", SIDD_MEDIUM_LAYOUT)
    pairs: list[ImagePair] = []
    for scene in subfolders(data):
        files = {p.name.lower(): p for p in scene.iterdir() if p.is_file()}
        for lower in sorted(files, key=natural_key):
            match = _NOISY.match(files[lower].name)
            if match is None:
                continue
            clean = files.get(lower.replace("_noisy_srgb_", "_gt_srgb_"))
            if clean is None:
                expected = f"{match['id']}_GT_SRGB_{match['n']}.PNG"
                raise EnhancementDataError(f"{files[lower]}: no ground truth {expected} next to it")
            pairs.append(ImagePair(f"{scene.name}/{match['id']}_{match['n']}", files[lower], clean))
    if not pairs:
        raise EnhancementDataError(f"{data}: no <id>_NOISY_SRGB_<nnn>.PNG files; expected {SIDD_MEDIUM_LAYOUT}")
    return pairs


@dataclass(frozen=True)
class SiddBlocks:
    """The noisy and ground-truth validation blocks, uint8 (images, blocks, H, W, 3) each."""

    noisy: np.ndarray
    clean: np.ndarray


@dataclass(frozen=True)
class BlockPair:
    """One validation block as a pair (the :class:`~idiff_enhancement.pairs.PairSource` protocol)."""

    name: str
    blocks: SiddBlocks
    image: int
    block: int

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The noisy and the ground-truth block."""
        return self.blocks.noisy[self.image, self.block], self.blocks.clean[self.image, self.block]


def _read_blocks(path: Path) -> np.ndarray:
    if not path.is_file():
        raise EnhancementDataError(f"{path}: file not found (the SIDD validation blocks)")
    try:
        content = scipy.io.loadmat(path)
    except NotImplementedError:  # MATLAB v7.3 files are HDF5
        raise EnhancementDataError(f"{path}: a MATLAB v7.3 (HDF5) file; save it as v7 (-v7) to read it") from None
    except Exception as err:  # scipy raises ValueError, OSError, MatReadError ... on truncated or foreign files
        raise EnhancementDataError(f"{path}: not a readable MATLAB file ({type(err).__name__}: {err})") from None
    names = [k for k in content if not k.startswith("__")]
    key = path.stem if path.stem in content else (names[0] if len(names) == 1 else None)
    if key is None:
        raise EnhancementDataError(f"{path}: no variable {path.stem!r}; it has: {', '.join(names) or 'none'}")
    blocks = np.asarray(content[key])
    if blocks.ndim != 5 or blocks.shape[-1] != 3 or blocks.dtype != np.uint8:
        raise EnhancementDataError(
            f"{path}: variable {key!r} is {blocks.dtype} {blocks.shape}, expected uint8 (images, blocks, H, W, 3)"
        )
    return blocks


def load_sidd_blocks(noisy_file: Path | str, clean_file: Path | str) -> list[BlockPair]:
    """The validation blocks as pairs named ``<image>_<block>`` (both 0-based), image by image.

    Raises:
        EnhancementDataError: a file is missing or unreadable, its array has the wrong shape, or the two differ.
    """
    noisy, clean = _read_blocks(Path(noisy_file)), _read_blocks(Path(clean_file))
    if noisy.shape != clean.shape:
        raise EnhancementDataError(f"{clean_file}: blocks {clean.shape} but {noisy_file} has {noisy.shape}")
    blocks = SiddBlocks(noisy, clean)
    return [BlockPair(f"{i:04d}_{j:03d}", blocks, i, j) for i in range(noisy.shape[0]) for j in range(noisy.shape[1])]
