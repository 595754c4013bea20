"""Shared fixtures: tiny synthetic SIDD, GoPro + REDS and CLWD datasets written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from idiff_enhancement.synthetic_blur import write_synthetic_gopro, write_synthetic_reds
from idiff_enhancement.synthetic_noise import write_synthetic_sidd_blocks, write_synthetic_sidd_medium
from idiff_enhancement.synthetic_watermark import write_synthetic_clwd

#: Run resolution of the task tests: smaller than the 64 px synthetic images, so evaluation tiles them.
RES = 32
#: Width of the synthetic images of the fixtures.
WIDTH = 64


@pytest.fixture(scope="session")
def sidd_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/SIDD_Medium_Srgb/Data/`` (3 scenes, 6 pairs of 64 x 48) + validation blocks (2 images x 2 of 48 px)."""
    root = tmp_path_factory.mktemp("sidd")
    write_synthetic_sidd_medium(root / "SIDD_Medium_Srgb", 6, seed=1, width=WIDTH)
    validation = root / "SIDD_Validation_sRGB"
    write_synthetic_sidd_blocks(
        validation / "ValidationNoisyBlocksSrgb.mat",
        validation / "ValidationGtBlocksSrgb.mat",
        4,
        seed=1,
        block_size=48,
    )
    return root


@pytest.fixture(scope="session")
def deblur_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/GOPRO_Large/{train,test}/`` (6 + 3 frames of 64 x 36) and ``<root>/REDS/{train,val}/`` (4 + 2)."""
    root = tmp_path_factory.mktemp("deblur")
    write_synthetic_gopro(root / "GOPRO_Large", {"train": 6, "test": 3}, seed=1, width=WIDTH, frames_per_sequence=4)
    write_synthetic_reds(root / "REDS", {"train": 4, "val": 2}, seed=1, width=WIDTH, frames_per_sequence=2)
    return root


@pytest.fixture(scope="session")
def clwd_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/CLWD/{train,test}/`` with 6 + 3 watermarked images of 64 x 64."""
    root = tmp_path_factory.mktemp("clwd")
    write_synthetic_clwd(root / "CLWD", {"train": 6, "test": 3}, seed=1, size=WIDTH)
    return root
