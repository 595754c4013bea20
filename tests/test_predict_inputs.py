"""Where the source square lies in the user's image, checked against Pillow's own crop and resize."""

from __future__ import annotations

import numpy as np
from PIL import Image

from idiff.data.images import load_image
from idiff.prediction.inputs import fit_box, output_names, read_inputs, upright_size


def test_source_pixels_map_back_to_the_image_pixels_pillow_averaged(tmp_path):
    # a horizontal ramp, value = x: each source pixel's value is the image x of its centre (Pillow's resampling)
    ramp = np.tile(np.arange(256, dtype=np.uint8), (128, 1))
    Image.fromarray(np.stack([ramp] * 3, axis=-1)).save(tmp_path / "ramp.png")
    ((origin, source),) = read_inputs(str(tmp_path / "ramp.png"), 64)
    assert (origin.width, origin.height, origin.box) == (256, 128, (64.0, 0.0, 192.0, 128.0))
    columns = np.arange(8, 56)  # away from the borders, where the filter is cut
    points = origin.image_points(np.stack([columns, np.zeros_like(columns)], axis=1), 64)
    np.testing.assert_allclose(points[:, 0], source[0, columns, 0].astype(float), atol=0.51)


def test_maps_paste_back_like_pillow_nearest(tmp_path):
    origin_box = fit_box(120, 80)
    assert origin_box == (20.0, 0.0, 100.0, 80.0)
    labels = np.random.default_rng(0).integers(0, 250, (40, 40), dtype=np.uint8)
    from idiff.tasks.api import InputImage

    origin = InputImage("x.png", "x", 120, 80, origin_box)
    pasted = origin.image_map(labels, fill=255)
    reference = np.full((80, 120), 255, np.uint8)  # Pillow's nearest resize of the 40 x 40 map to the 80 x 80 square
    reference[:, 20:100] = np.asarray(Image.fromarray(labels).resize((80, 80), Image.Resampling.NEAREST))
    np.testing.assert_array_equal(pasted, reference)


def test_exif_rotated_photo_is_upright_and_names_stay_unique(tmp_path):
    image = Image.new("RGB", (60, 40), (10, 200, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    image.save(tmp_path / "p.jpg", exif=exif)
    Image.new("RGB", (40, 40)).save(tmp_path / "p.png")
    assert upright_size(tmp_path / "p.jpg") == (40, 60)
    assert load_image(tmp_path / "p.jpg", 32).shape == (32, 32, 3)
    assert output_names([tmp_path / "p.jpg", tmp_path / "p.png", tmp_path / "q.png"]) == ["p_jpg", "p_png", "q"]
    origins = [origin for origin, _ in read_inputs(str(tmp_path), 32)]
    assert [(o.name, o.width, o.height) for o in origins] == [("p_jpg", 40, 60), ("p_png", 40, 40)]
