"""PSNR / SSIM against scikit-image, and the full-resolution tiling scheme."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from idiff_enhancement.metrics import MAX_PSNR, image_quality, mean_quality, psnr, ssim
from idiff_enhancement.scenes import render_scene
from idiff_enhancement.tiling import TileGrid, blend_weights, tile_starts


def _pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for h, w in ((64, 64), (37, 100), (20, 30)):
        clean = render_scene(rng, h, w)
        noisy = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
        blurred = np.asarray(Image.fromarray(clean).filter(ImageFilter.GaussianBlur(1.5)))
        shifted = np.roll(clean, 2, axis=1)
        flat = np.full_like(clean, 128)
        out += [(f"noise {h}x{w}", noisy, clean), (f"blur {h}x{w}", blurred, clean), (f"shift {h}x{w}", shifted, clean)]
        out += [(f"flat {h}x{w}", flat, clean), (f"same {h}x{w}", clean, clean)]
    out.append(("random", rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), rng.integers(0, 256, (48, 48, 3))))
    return [(name, a.astype(np.uint8), b.astype(np.uint8)) for name, a, b in out]


@pytest.mark.parametrize(("name", "prediction", "target"), _pairs(), ids=[p[0] for p in _pairs()])
def test_psnr_and_ssim_equal_scikit_image(name: str, prediction: np.ndarray, target: np.ndarray) -> None:
    expected_psnr = min(peak_signal_noise_ratio(target, prediction, data_range=255), MAX_PSNR)  # inf when equal
    expected_ssim = structural_similarity(
        target, prediction, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, K1=0.01, K2=0.03,
    )  # fmt: skip
    assert psnr(prediction, target) == pytest.approx(expected_psnr, abs=1e-4)
    assert ssim(prediction, target) == pytest.approx(expected_ssim, abs=1e-4)
    assert ssim(target, prediction) == pytest.approx(expected_ssim, abs=1e-4)  # symmetric


def test_identical_images_score_the_maximum() -> None:
    image = render_scene(np.random.default_rng(1), 32, 48)
    assert image_quality(image, image) == {"PSNR": MAX_PSNR, "SSIM": pytest.approx(1.0, abs=1e-4)}
    assert mean_quality([{"PSNR": 20.0, "SSIM": 0.5}, {"PSNR": 30.0, "SSIM": 0.7}]) == pytest.approx(
        {"PSNR": 25.0, "SSIM": 0.6}
    )
    assert mean_quality([]) == {"PSNR": 0.0, "SSIM": 0.0}
    with pytest.raises(ValueError, match="differ in size"):
        psnr(image, image[:-1])
    with pytest.raises(ValueError, match="larger than 10 px"):
        ssim(image[:10], image[:10])


@pytest.mark.parametrize("length", [1, 31, 32, 33, 64, 100, 720, 1280])
@pytest.mark.parametrize(("tile", "overlap"), [(32, 4), (32, 0), (256, 32)])
def test_tile_starts_cover_the_axis_with_the_overlap(length: int, tile: int, overlap: int) -> None:
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts == sorted(set(starts))
    if length <= tile:
        assert starts == [0]
        return
    assert starts[-1] == length - tile  # the last tile ends on the border
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))  # overlap kept
    assert len(starts) == int(np.ceil((length - tile) / (tile - overlap))) + 1  # and no more tiles than needed


def test_gopro_frame_takes_24_tiles_at_256() -> None:
    assert len(TileGrid(720, 1280, 256, 32).boxes) == 24
    with pytest.raises(ValueError, match="overlap must be in"):
        tile_starts(100, 32, 32)


@pytest.mark.parametrize(("height", "width"), [(32, 32), (20, 45), (72, 128), (100, 37)])
def test_cut_then_stitch_gives_the_image_back(height: int, width: int) -> None:
    image = render_scene(np.random.default_rng(height), height, width)
    grid = TileGrid(height, width, 32, 4)
    tiles = grid.cut(image)
    assert all(t.shape == (32, 32, 3) for t in tiles) and len(tiles) == len(grid.boxes)
    np.testing.assert_array_equal(grid.stitch(tiles), image)


def test_stitch_blends_overlaps_and_keeps_single_coverage() -> None:
    grid = TileGrid(32, 56, 32, 8)  # two tiles: x in [0, 32) and [24, 56), overlapping on 8 columns
    assert grid.boxes == [(0, 0), (0, 24)]
    dark, bright = np.zeros((32, 32, 3), np.uint8), np.full((32, 32, 3), 200, np.uint8)
    out = grid.stitch([dark, bright])
    assert (out[:, :24] == 0).all() and (out[:, 32:] == 200).all()  # covered by one tile: that tile
    seam = out[16, 24:32, 0].astype(int)
    assert (np.diff(seam) > 0).all() and 0 < seam[0] < 100 < seam[-1] < 200  # a ramp, not a step
    ramp = blend_weights(32, 8)
    assert ramp.min() > 0 and ramp[16, 16] == 1.0 and ramp[0, 16] == pytest.approx(1 / 9)
