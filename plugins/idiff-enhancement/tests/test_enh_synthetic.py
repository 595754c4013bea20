"""The synthetic generators: the noise model's statistics, motion blur, watermarks, staged and deterministic output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idiff_enhancement.gamma import to_linear, to_uint8
from idiff_enhancement.images import read_rgb
from idiff_enhancement.metrics import psnr
from idiff_enhancement.staging import staged_directory
from idiff_enhancement.synthetic_blur import blur_sequence, shake_path, shifted_crop
from idiff_enhancement.synthetic_noise import NoiseLevels, add_camera_noise
from idiff_enhancement.synthetic_watermark import apply_watermark, render_watermark, write_synthetic_clwd


def test_noise_is_poisson_gaussian_in_linear_raw_space() -> None:
    levels = NoiseLevels(shot=0.005, read=2e-4, gains=(1.5, 1.0, 1.2))
    rng = np.random.default_rng(0)
    gains = np.asarray(levels.gains)
    for value in (100, 160, 200):  # at least 3 sigma from 0 and 1: clipping does not bias the moments
        clean = np.full((256, 256, 3), value, np.uint8)
        raw = to_linear(add_camera_noise(clean, levels, rng)) / gains  # undo gamma and white balance
        signal = to_linear(clean[0, 0]) / gains
        expected_var = levels.shot * signal + levels.read  # variance a x + b
        np.testing.assert_allclose(raw.reshape(-1, 3).mean(0), signal, rtol=0.02)
        np.testing.assert_allclose(raw.reshape(-1, 3).var(0), expected_var, rtol=0.06)
    assert to_uint8(to_linear(np.arange(256))).tolist() == list(range(256))  # the gamma round trip is exact


def test_noise_levels_and_scene_iso() -> None:
    rng = np.random.default_rng(3)
    levels = [NoiseLevels.sample(rng) for _ in range(200)]
    shots = np.array([lv.shot for lv in levels])
    assert 2e-3 <= shots.min() and shots.max() <= 2e-2
    low, high = min(levels, key=lambda lv: lv.shot), max(levels, key=lambda lv: lv.shot)
    assert low.iso == 100 and high.iso == 3200


def test_shifted_crop_is_exact_at_whole_pixels_and_bilinear_between() -> None:
    canvas = np.random.default_rng(0).uniform(0, 1, (20, 30, 3))
    np.testing.assert_array_equal(shifted_crop(canvas, 3.0, 5.0, 8, 10), canvas[3:11, 5:15])
    half = shifted_crop(canvas, 3.0, 5.5, 8, 10)
    np.testing.assert_allclose(half, (canvas[3:11, 5:15] + canvas[3:11, 6:16]) / 2)
    path = shake_path(np.random.default_rng(1), 50, 0.8)
    assert np.linalg.norm(np.diff(path, axis=0), axis=1).mean() == pytest.approx(0.8) and (path[0] == 0).all()


def test_blurred_frames_lose_detail_and_sharp_frames_keep_it() -> None:
    frames = blur_sequence(np.random.default_rng(2), 6, 36, 64)

    def detail(image: np.ndarray) -> float:
        return float(np.abs(np.diff(image.astype(float), axis=1)).mean())

    for frame in frames:
        assert frame.sharp.shape == frame.blur.shape == frame.blur_gamma.shape == (36, 64, 3)
        assert detail(frame.blur) < detail(frame.sharp) and detail(frame.blur_gamma) < detail(frame.sharp)
        assert psnr(frame.blur, frame.sharp) < 45
    assert any(not np.array_equal(f.blur, f.blur_gamma) for f in frames)  # encoded vs linear-light averages


def test_watermark_composite_and_clwd_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    colour, alpha = render_watermark(rng, 64, 64)
    assert alpha.max() <= 0.7 and (alpha > 0).mean() > 0.01 and colour.dtype == np.uint8
    clean = np.full((64, 64, 3), 100, np.uint8)
    marked = apply_watermark(clean, colour, alpha)
    np.testing.assert_allclose(marked, (1 - alpha[..., None]) * 100 + alpha[..., None] * colour, atol=0.5)
    root = write_synthetic_clwd(tmp_path / "CLWD", {"train": 2}, seed=5, size=64)
    base = root / "train"
    marked, free = read_rgb(base / "Watermarked_image/2.jpg"), read_rgb(base / "Watermark_free_image/2.jpg")
    mask, alpha_png = read_rgb(base / "Mask/2.png")[..., 0] > 0, read_rgb(base / "Alpha/2.png")[..., 0]
    difference = np.abs(marked.astype(int) - free.astype(int)).max(axis=2)
    assert (alpha_png[~mask] == 0).all() and alpha_png.max() <= round(0.7 * 255)
    assert difference[alpha_png > 120].mean() > 3 * max(difference[~mask].mean(), 1.0)  # only the mark changed


def test_writers_are_deterministic_and_staged(tmp_path: Path) -> None:
    first = write_synthetic_clwd(tmp_path / "a", {"test": 2}, seed=7, size=32)
    again = write_synthetic_clwd(tmp_path / "b", {"test": 2}, seed=7, size=32)
    other = write_synthetic_clwd(tmp_path / "c", {"test": 2}, seed=8, size=32)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) == 10
    assert all((first / f).read_bytes() == (again / f).read_bytes() for f in files)
    assert any((first / f).read_bytes() != (other / f).read_bytes() for f in files)
    with pytest.raises(FileExistsError, match="already exists"):
        write_synthetic_clwd(tmp_path / "a", {"test": 1})
    with pytest.raises(RuntimeError, match="interrupted"), staged_directory(tmp_path / "d") as partial:
        (partial / "half.png").write_bytes(b"")
        raise RuntimeError("interrupted")
    assert not (tmp_path / "d").exists() and not (tmp_path / ".d.partial").exists()
