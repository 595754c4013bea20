"""Readers on hand-written fixtures in the real layouts of SIDD, GoPro, REDS and CLWD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from idiff.errors import DataError
from PIL import Image

from idiff_enhancement.clwd import load_clwd
from idiff_enhancement.gopro import load_gopro, load_reds
from idiff_enhancement.images import EnhancementDataError
from idiff_enhancement.sidd import load_sidd_blocks, load_sidd_medium


def _image(path: Path, value: int, size: tuple[int, int] = (12, 8)) -> np.ndarray:
    """Write a (width, height) image of one grey ``value`` plus a ramp; return its pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.full((size[1], size[0], 3), value) + np.arange(size[0])[None, :, None]).astype(np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG" if path.suffix == ".jpg" else "PNG", quality=100)
    return pixels


def test_sidd_medium_layout(tmp_path: Path) -> None:
    data = tmp_path / "SIDD_Medium_Srgb" / "Data"
    for scene, sid in (("0001_001_S6_00100_00060_3200_L", "0001"), ("0002_001_IP_00800_01000_5500_N", "0002")):
        for n in ("010", "011"):
            _image(data / scene / f"{sid}_NOISY_SRGB_{n}.PNG", 10)
            _image(data / scene / f"{sid}_GT_SRGB_{n}.PNG", 20)
    (data / "0001_001_S6_00100_00060_3200_L" / "0001_METADATA_RAW_010.MAT").write_bytes(b"not read")
    (tmp_path / "SIDD_Medium_Srgb" / "ReadMe_sRGB.txt").write_text("not read")
    pairs = load_sidd_medium(tmp_path / "SIDD_Medium_Srgb")
    assert [p.name for p in pairs] == [
        "0001_001_S6_00100_00060_3200_L/0001_010", "0001_001_S6_00100_00060_3200_L/0001_011",
        "0002_001_IP_00800_01000_5500_N/0002_010", "0002_001_IP_00800_01000_5500_N/0002_011",
    ]  # fmt: skip
    noisy, clean = pairs[0].load()
    assert pairs[0].degraded.name == "0001_NOISY_SRGB_010.PNG" and pairs[0].clean.name == "0001_GT_SRGB_010.PNG"
    assert noisy.shape == clean.shape == (8, 12, 3) and noisy[0, 0, 0] == 10 and clean[0, 0, 0] == 20
    (data / "0002_001_IP_00800_01000_5500_N" / "0002_GT_SRGB_011.PNG").unlink()
    with pytest.raises(EnhancementDataError, match=r"0002_NOISY_SRGB_011\.PNG: no ground truth 0002_GT_SRGB_011\.PNG"):
        load_sidd_medium(tmp_path / "SIDD_Medium_Srgb")
    with pytest.raises(
        EnhancementDataError, match=r"Elsewhere/Data: folder not found; expected the layout .*NOISY_SRGB"
    ):
        load_sidd_medium(tmp_path / "Elsewhere")


def test_sidd_validation_blocks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8)
    clean = rng.integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8)
    scipy.io.savemat(tmp_path / "ValidationNoisyBlocksSrgb.mat", {"ValidationNoisyBlocksSrgb": noisy})
    scipy.io.savemat(tmp_path / "ValidationGtBlocksSrgb.mat", {"ValidationGtBlocksSrgb": clean})
    pairs = load_sidd_blocks(tmp_path / "ValidationNoisyBlocksSrgb.mat", tmp_path / "ValidationGtBlocksSrgb.mat")
    assert [p.name for p in pairs[:4]] == ["0000_000", "0000_001", "0000_002", "0001_000"] and len(pairs) == 6
    a, b = pairs[4].load()
    np.testing.assert_array_equal(a, noisy[1, 1])
    np.testing.assert_array_equal(b, clean[1, 1])
    scipy.io.savemat(tmp_path / "Other.mat", {"x": noisy[:, :2]})  # one variable, another name: taken
    with pytest.raises(EnhancementDataError, match=r"ValidationGtBlocksSrgb\.mat: blocks \(2, 3, 16, 16, 3\) but"):
        load_sidd_blocks(tmp_path / "Other.mat", tmp_path / "ValidationGtBlocksSrgb.mat")
    scipy.io.savemat(tmp_path / "Flat.mat", {"Flat": noisy[0]})
    with pytest.raises(EnhancementDataError, match=r"Flat\.mat: variable 'Flat' is uint8 \(3, 16, 16, 3\), expected"):
        load_sidd_blocks(tmp_path / "Flat.mat", tmp_path / "Flat.mat")
    with pytest.raises(EnhancementDataError, match=r"Missing\.mat: file not found"):
        load_sidd_blocks(tmp_path / "Missing.mat", tmp_path / "ValidationGtBlocksSrgb.mat")


def test_gopro_layout(tmp_path: Path) -> None:
    root = tmp_path / "GOPRO_Large"
    for seq in ("GOPR0372_07_00", "GOPR0384_11_00"):
        for frame in ("000047.png", "000048.png"):
            _image(root / "train" / seq / "blur" / frame, 1)
            _image(root / "train" / seq / "blur_gamma" / frame, 2)
            _image(root / "train" / seq / "sharp" / frame, 3)
    pairs = load_gopro(root, "train")
    assert [p.name for p in pairs] == [
        "GOPR0372_07_00/000047", "GOPR0372_07_00/000048", "GOPR0384_11_00/000047", "GOPR0384_11_00/000048"
    ]  # fmt: skip
    assert pairs[0].load()[0][0, 0, 0] == 1 and pairs[0].load()[1][0, 0, 0] == 3
    assert load_gopro(root, "train", "blur_gamma")[0].load()[0][0, 0, 0] == 2
    (root / "train" / "GOPR0384_11_00" / "sharp" / "000048.png").unlink()
    with pytest.raises(EnhancementDataError, match=r"blur/000048\.png: no ground-truth image 000048\.\* in .*sharp"):
        load_gopro(root, "train")
    with pytest.raises(EnhancementDataError, match=r"GOPRO_Large/test: folder not found; expected the layout"):
        load_gopro(root, "test")


def test_reds_layout(tmp_path: Path) -> None:
    root = tmp_path / "REDS"
    for seq in ("000", "001"):
        for frame in ("00000000.png", "00000001.png", "00000099.png"):
            _image(root / "train" / "train_blur" / seq / frame, 5)
            _image(root / "train" / "train_sharp" / seq / frame, 6)
    pairs = load_reds(root, "train")
    assert len(pairs) == 6 and pairs[2].name == "000/00000099" and pairs[3].name == "001/00000000"
    assert pairs[2].load()[1][0, 0, 0] == 6
    flat = tmp_path / "flat"
    _image(flat / "val_blur" / "000" / "00000000.png", 5)
    _image(flat / "val_sharp" / "000" / "00000000.png", 6)
    assert [p.name for p in load_reds(flat, "val", "{split}_blur", "{split}_sharp")] == ["000/00000000"]
    with pytest.raises(EnhancementDataError, match=r"REDS/val/val_blur: folder not found; expected .*REDS"):
        load_reds(root, "val")


def test_clwd_layout_in_numeric_order(tmp_path: Path) -> None:
    root = tmp_path / "CLWD"
    for n in (1, 2, 10):
        _image(root / "test" / "Watermarked_image" / f"{n}.jpg", 100)
        _image(root / "test" / "Watermark_free_image" / f"{n}.jpg", 50)
        _image(root / "test" / "Mask" / f"{n}.png", 0)
    pairs = load_clwd(root, "test")
    assert [p.name for p in pairs] == ["1", "2", "10"]
    watermarked, free = pairs[2].load()
    assert abs(int(watermarked[0, 0, 0]) - 100) <= 2 and abs(int(free[0, 0, 0]) - 50) <= 2  # JPEG
    _image(root / "test" / "Watermark_free_image" / "2.jpg", 50, size=(10, 8))
    with pytest.raises(
        EnhancementDataError, match=r"Watermarked_image/2\.jpg: 12x8 but its ground truth .*2\.jpg is 10x8"
    ):
        pairs[1].load()
    with pytest.raises(EnhancementDataError, match=r"CLWD/train/Watermarked_image: folder not found"):
        load_clwd(root, "train")


def test_reader_errors_are_idiff_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError):  # the CLI prints these as one line
        load_clwd(tmp_path, "train")
