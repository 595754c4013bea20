"""Image reading (idiff.data.images.read_rgb): every mode, EXIF orientations, damaged files, decompression bombs.

The fuzz tests draw images in the modes a dataset may hold, save them in a real format, optionally damage the
bytes, and check that reading either gives the right pixels or a DataError naming the file, never another error.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from PIL import Image, ImageOps

from idiff.data.images import load_image, read_rgb
from idiff.errors import DataError
from idiff.testing.fuzz import damaged_bytes, fuzz_settings

#: (mode, formats that can store it)
MODES = {
    "RGB": ("PNG", "JPEG", "TIFF", "WEBP", "BMP"), "L": ("PNG", "JPEG", "TIFF", "BMP"), "LA": ("PNG", "TIFF"),
    "P": ("PNG", "TIFF", "BMP"), "RGBA": ("PNG", "TIFF", "WEBP"), "I;16": ("PNG", "TIFF"), "CMYK": ("JPEG", "TIFF"),
    "1": ("PNG", "TIFF", "BMP"),
}
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}


def make_image(mode: str, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    rgba = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), "RGBA")
    return rgba.convert(mode) if mode != "P" else rgba.convert("RGB").quantize(16)


def encoded(image: Image.Image, fmt: str, orientation: int = 1) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    image.save(buffer, format=fmt, exif=exif.tobytes()) if fmt in ("JPEG", "PNG", "WEBP", "TIFF") else image.save(
        buffer, format=fmt)
    return buffer.getvalue()


@st.composite
def image_files(draw: st.DrawFn) -> tuple[str, str, int, int, int, int]:
    mode = draw(st.sampled_from(sorted(MODES)))
    fmt = draw(st.sampled_from(MODES[mode]))
    return (mode, fmt, draw(st.integers(1, 24)), draw(st.integers(1, 24)), draw(st.integers(1, 8)),
            draw(st.integers(0, 2**16)))


@fuzz_settings()
@given(spec=image_files())
def test_every_mode_and_orientation_reads_as_upright_rgb(tmp_path, spec):
    mode, fmt, width, height, orientation, seed = spec
    event(f"mode {mode}")
    image = make_image(mode, width, height, seed)
    path = tmp_path / f"image{SUFFIX[fmt]}"
    path.write_bytes(encoded(image, fmt, orientation))
    got = read_rgb(path)
    with Image.open(path) as stored:  # the reference: Pillow's own transpose and conversion
        upright = ImageOps.exif_transpose(stored)
        expected = np.asarray(upright.convert("RGB")) if mode != "I;16" else None
        size = upright.size
    assert got.dtype == np.uint8 and got.shape == (size[1], size[0], 3)
    if mode == "I;16":  # scaled to 8 bits (rounded x / 257), not clipped to 255 as Pillow's convert does
        with Image.open(path) as stored:
            raw = np.asarray(ImageOps.exif_transpose(stored), dtype=np.float64)
        assert np.array_equal(got, np.repeat(np.floor(raw / 257 + 0.5)[..., None], 3, axis=2))
    else:
        assert np.array_equal(got, expected)


@fuzz_settings()
@given(spec=image_files(), data=st.data())
def test_damaged_files_give_a_data_error_naming_the_file(tmp_path, spec, data):
    mode, fmt, width, height, orientation, seed = spec
    good = encoded(make_image(mode, width, height, seed), fmt, orientation)
    bad, how = data.draw(damaged_bytes(good))
    path = tmp_path / f"damaged{SUFFIX[fmt]}"
    path.write_bytes(bad)
    try:
        image = read_rgb(path)
    except DataError as err:
        event(f"DataError ({how.split()[0]})")
        assert str(path) in str(err) and "\n" not in str(err)
    else:  # some damage leaves a decodable image (junk after the end, a changed pixel byte)
        event(f"read ({how.split()[0]})")
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` x ``height`` with one empty IDAT: what a decompression bomb's header looks like."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(10_000, 10_000), (100_000, 100_000), (2**31 - 1, 2)])
def test_decompression_bombs_are_refused_from_the_header(tmp_path, size):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(*size))
    with pytest.raises(DataError, match="decompression-bomb guard") as info:
        read_rgb(path)
    assert str(path) in str(info.value)


def test_the_pixel_limit_is_a_parameter(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (40, 30)).save(path)
    assert read_rgb(path, max_pixels=1200).shape == (30, 40, 3)
    with pytest.raises(DataError, match="1201 pixels|1200"):
        read_rgb(path, max_pixels=1199)


def test_exif_rotation_follows_the_annotation_size(tmp_path):
    path = tmp_path / "rotated.jpg"
    path.write_bytes(encoded(make_image("RGB", 20, 10, 0), "JPEG", orientation=6))  # stored 20 x 10, shown 10 x 20
    assert read_rgb(path).shape == (20, 10, 3)  # a user's photo: upright
    assert read_rgb(path, expected_size=(20, 10)).shape == (10, 20, 3)  # annotated on the stored pixels
    assert read_rgb(path, expected_size=(10, 20)).shape == (20, 10, 3)  # annotated upright
    with pytest.raises(DataError, match=r"image is 20 x 10, but its annotation's 'width' x 'height' is 12 x 12"):
        read_rgb(path, expected_size=(12, 12))


@pytest.mark.parametrize("content", [None, b"", b"not an image at all", b"\x89PNG\r\n\x1a\n"])
def test_missing_empty_and_foreign_files(tmp_path, content):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match="not found" if content is None else "cannot read image") as info:
        read_rgb(path)
    assert str(path) in str(info.value)


def test_predict_inputs_are_cropped_squares(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (60, 20), (10, 200, 30)).save(path)
    image = load_image(Path(path), 16)
    assert image.shape == (16, 16, 3) and (image == (10, 200, 30)).all()
