"""The grid mask decoder (``decode_grid``): its pieces against independent references, and its masks against the
ground truth and the analytic decoder's on 256 px scenes, clean and under a model's artefacts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from idiff.tasks.api import EditRequest, TaskContext
from PIL import Image
from scipy import ndimage

from idiff_segmentation.config import SegmentationConfig
from idiff_segmentation.decoding import decode_mask, to_decoder_space
from idiff_segmentation.encoding import COLOUR_NAMES, overlay_mask
from idiff_segmentation.grid_decoding import _source_side, _window_mean, block_mean, decode_mask_grid, grid_factor
from idiff_segmentation.referring_task import ReferringSegmentationTask

RES = 256


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_block_mean_against_torch_average_pooling() -> None:
    rng = np.random.default_rng(0)
    for factor, shape in ((1, (3, 5)), (2, (8, 6)), (4, (256, 256)), (5, (20, 35))):
        image = rng.integers(0, 256, (*shape, 3)).astype(np.uint8)
        pooled = torch.nn.functional.avg_pool2d(torch.from_numpy(image).double().permute(2, 0, 1), factor)
        expected = pooled.permute(1, 2, 0).numpy()
        np.testing.assert_allclose(block_mean(image, factor), expected, atol=1e-4)
        np.testing.assert_allclose(block_mean(image.astype(np.float32), factor), expected, atol=1e-4)
        np.testing.assert_allclose(block_mean(image, factor, 0.35),
                                   to_decoder_space(expected), atol=1e-3)


def test_grid_factor() -> None:
    assert grid_factor(256, 256, 64) == 4 and grid_factor(512, 384, 64) == 8
    assert grid_factor(128, 96, 64) == 2 and grid_factor(128, 101, 64) == 1  # 101 px is no whole number of cells
    assert grid_factor(64, 64, 64) == 1 and grid_factor(100, 100, 64) == 1 and grid_factor(256, 256, 0) == 1


def test_window_mean_against_scipy() -> None:
    """The 3x3 mean of the pixel votes at each undecided pixel: fine votes in undecided cells, elsewhere the cell's
    vote, outside the image the border cell's -- checked against scipy's uniform filter on that vote image."""
    rng = np.random.default_rng(1)
    factor, h, w = 4, 6, 5
    coarse = rng.normal(size=(h, w)).astype(np.float32)
    cells = np.array([0, 3, 7, 12, 24, 29])  # corners and borders included
    fine = rng.normal(size=len(cells) * factor * factor).astype(np.float32)
    image = np.pad(coarse, 1, mode="edge").repeat(factor, 0).repeat(factor, 1)  # one cell of margin
    for i, cell in enumerate(cells):
        y, x = (cell // w + 1) * factor, (cell % w + 1) * factor
        image[y : y + factor, x : x + factor] = fine[i * factor**2 : (i + 1) * factor**2].reshape(factor, factor)
    mean = ndimage.uniform_filter(image.astype(np.float64), size=3, mode="nearest")
    expected = np.concatenate([mean[(c // w + 1) * factor : (c // w + 2) * factor,
                                    (c % w + 1) * factor : (c % w + 2) * factor].ravel() for c in cells])
    np.testing.assert_allclose(_window_mean(coarse, fine, *np.divmod(cells, w), factor), expected, rtol=1e-5, atol=1e-6)


def test_source_side_by_hand() -> None:
    """A cell between wholly marked cells of source colour A (left) and unmarked cells of colour B (right): a pixel
    of colour A scores ~+1, of B ~-1, halfway 0; a cell with no marked cell around scores 0."""
    a, b = np.array([200.0, 40.0, 40.0]), np.array([40.0, 40.0, 200.0])
    sc = np.zeros((3, 6, 3), np.float32)
    sc[:, :2], sc[:, 3:] = a, b
    sc = np.moveaxis(sc, -1, 0)  # colour planes
    inside, outside = np.zeros((3, 6), bool), np.zeros((3, 6), bool)
    inside[:, :2], outside[:, 2:] = True, True
    outside[:, 2] = False  # the undecided column
    pixels = np.array([a, b, (a + b) / 2, a], np.float32).T  # one cell of 4 pixels (f = 2), colour planes
    side = _source_side(sc, inside, outside, np.array([1]), np.array([2]), pixels, tolerance=30.0)
    gap2 = float(((a - b) ** 2).sum())
    full = gap2 / (gap2 + 900.0)  # ~1: A and B differ clearly
    np.testing.assert_allclose(side, [full, -full, 0.0, full], rtol=1e-5, atol=1e-6)
    near = _source_side(sc, inside, outside, np.array([1]), np.array([2]), np.array([a * 0.9 + b * 0.1] * 4).T, 30.0)
    expected = (((a * 0.9 + b * 0.1 - b) ** 2).sum() - ((a * 0.9 + b * 0.1 - a) ** 2).sum()) / (gap2 + 900.0)
    np.testing.assert_allclose(near, expected, rtol=1e-5)
    alone = _source_side(sc, inside, outside, np.array([1]), np.array([5]), pixels, tolerance=30.0)
    np.testing.assert_array_equal(alone, 0.0)  # no wholly marked cell among its neighbours


@pytest.mark.parametrize("colour", COLOUR_NAMES)
def test_round_trip_clean_and_under_artefacts(colour: str, scene, artefacts) -> None:
    for seed in range(2):
        image, mask = scene(seed, colour, RES, polygon=seed == 1)
        target = overlay_mask(image, mask, colour)
        assert iou(decode_mask_grid(target, image, colour), mask) >= 0.99, (colour, seed, "clean")
        for name in ("model", "jpeg", "tint"):
            generated = artefacts[name](target)
            got, exact = decode_mask_grid(generated, image, colour), decode_mask(generated, image, colour)
            assert iou(got, mask) >= 0.95, (colour, seed, name, iou(got, mask))
            assert iou(got, exact) >= 0.95, (colour, seed, name, iou(got, exact))


@pytest.mark.parametrize("colour", COLOUR_NAMES)
def test_unchanged_image_decodes_to_nothing(colour: str, scene, artefacts) -> None:
    image, _ = scene(3, colour, RES)
    for generated in (image, *(artefacts[name](image) for name in ("model", "jpeg", "tint"))):
        assert decode_mask_grid(generated, image, colour).sum() <= 0.01 * RES * RES


def test_sizes_off_the_grid_are_read_pixel_by_pixel(scene, artefacts) -> None:
    image, mask = scene(0, "red", RES)
    for size in (64, 100):  # under two cells of 64, and no whole number of cells
        small = np.asarray(Image.fromarray(image).resize((size, size)))
        part = np.asarray(Image.fromarray(mask).resize((size, size)))
        generated = artefacts["model"](overlay_mask(small, part, "red"))
        np.testing.assert_array_equal(decode_mask_grid(generated, small, "red", radius=1.5),
                                      decode_mask(generated, small, "red", radius=1.5))
    with pytest.raises(ValueError, match="differ in size"):
        decode_mask_grid(np.zeros((256, 256, 3), np.uint8), np.zeros((256, 128, 3), np.uint8), "red")


def test_the_task_decodes_with_the_grid_when_asked(tmp_path, scene, artefacts) -> None:
    image, mask = scene(1, "blue", RES, polygon=True)
    generated = artefacts["model"](overlay_mask(image, mask, "blue"))
    request = EditRequest(source=image, instruction="x", meta={"colour": "blue", "alpha": 0.5})
    masks = {}
    for grid in (0, 64):
        config = ReferringSegmentationTask.Config(decode_grid=grid)
        task = ReferringSegmentationTask(config, TaskContext(data_dir=tmp_path, resolution=RES, seed=0))
        masks[grid] = task.decode(generated, request)
    np.testing.assert_array_equal(masks[0], decode_mask(generated, image, "blue"))
    np.testing.assert_array_equal(masks[64], decode_mask_grid(generated, image, "blue"))
    with pytest.raises(ValueError, match=r"decode_grid must be 0 \(every pixel\) or a grid size in \[4, 4096\]; got 2"):
        SegmentationConfig(decode_grid=2)
