"""Encoding (aligned crops, flips, instructions) and decoding (the generated tile) of the enhancement tasks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from idiff.data.draws import drawing
from idiff.tasks.api import EditRequest, TaskContext

from idiff_enhancement.dataset import DatasetPart, PairCropDataset, random_pair_crop, resize_short_side
from idiff_enhancement.denoise_task import DenoiseConfig, DenoiseTask
from idiff_enhancement.templates import DEBLUR_TEMPLATES, DENOISE_TEMPLATES, WATERMARK_TEMPLATES


@dataclass(frozen=True)
class Coordinates:
    """An in-memory pair whose clean image encodes each pixel's (y, x) and whose degraded one is clean + 1."""

    name: str
    height: int
    width: int

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        yy, xx = np.mgrid[0 : self.height, 0 : self.width]
        clean = np.stack([yy, xx, np.zeros_like(yy)], axis=2).astype(np.uint8)
        return clean + 1, clean


def test_crops_are_aligned_flipped_together_and_cover_the_image() -> None:
    torch.manual_seed(0)  # the per-worker generator mixes in torch.initial_seed()
    ds = PairCropDataset([DatasetPart("grid", [Coordinates("a", 50, 70)], 40.0)], 16, DENOISE_TEMPLATES)
    corners, flips = set(), 0
    for i in range(len(ds)):
        s = ds[i]
        np.testing.assert_array_equal(s.source.astype(int), s.target.astype(int) + 1)  # same crop, same flip
        y, x = int(s.target[0, 0, 0]), int(s.target[0, :, 1].min())
        rows, cols = s.target[:, 0, 0], np.sort(s.target[0, :, 1])
        assert (np.diff(rows) == 1).all() and (np.diff(cols) == 1).all()  # a contiguous 16 x 16 window
        flips += int(s.target[0, 0, 1] > s.target[0, -1, 1])
        corners.add((y, x))
        assert s.instruction in DENOISE_TEMPLATES
    assert 10 < flips < 30  # flip_prob 0.5 over 40 draws
    assert len(corners) > 20 and max(y for y, _ in corners) <= 34 and max(x for _, x in corners) <= 54


def test_a_draw_gets_the_same_crop_flip_and_instruction_in_a_resumed_run() -> None:
    """Inside the fit's ``drawing(draw, attempt)`` the choices depend on the draw only, not on what came before."""
    parts = [DatasetPart("grid", [Coordinates("a", 50, 70), Coordinates("b", 60, 40)], 0.5)]
    first, resumed = (PairCropDataset(parts, 16, DENOISE_TEMPLATES, seed=3) for _ in range(2))
    for draw in range(5):  # the first run draws 0..4; the resumed one starts at draw 3
        with drawing(draw, 0):
            sample = first[draw % 1]
        if draw >= 3:
            with drawing(draw, 0):
                again = resumed[draw % 1]
            np.testing.assert_array_equal(sample.target, again.target)
            assert sample.instruction == again.instruction
    with drawing(3, 0):
        a = first[0]
    with drawing(4, 0):
        b = first[0]
    assert not np.array_equal(a.target, b.target)  # different draws, different crops


def test_small_images_are_mirror_padded_and_resize_keeps_the_aspect() -> None:
    degraded, clean = Coordinates("s", 10, 12).load()
    a, b = random_pair_crop(degraded, clean, 16, np.random.default_rng(0))
    assert a.shape == b.shape == (16, 16, 3) and b[10, 0, 0] == 9 and b[0, 12, 1] == 11  # mirrored
    wide = np.zeros((720, 1280, 3), np.uint8)
    assert resize_short_side(wide, 256).shape == (256, 455, 3)  # the public code's GoPro resize
    assert resize_short_side(wide[:256, :300], 256).shape == (256, 300, 3)


def test_templates_are_hand_written_sets_of_about_ten() -> None:
    for templates, word in ((DENOISE_TEMPLATES, "nois"), (DEBLUR_TEMPLATES, "blur"), (WATERMARK_TEMPLATES, "water")):
        assert 10 <= len(set(templates)) == len(templates) <= 15
        assert sum(word in t.lower() for t in templates) >= len(templates) // 2
        assert all(t[0].isupper() and t.endswith(".") for t in templates)


def test_decode_returns_the_generated_tile_at_the_source_size(tmp_path: Path) -> None:
    task = DenoiseTask(DenoiseConfig(), TaskContext(32, tmp_path))
    source = np.zeros((32, 32, 3), np.uint8)
    request = EditRequest(source=source, instruction="Denoise this photo.")
    generated = np.random.default_rng(0).integers(0, 256, (32, 32, 4), dtype=np.uint8)
    np.testing.assert_array_equal(task.decode(generated, request), generated[..., :3])
    resized = task.decode(np.full((64, 64, 3), 7, np.uint8), request)
    assert resized.shape == (32, 32, 3) and (resized == 7).all()
    assert task.render(request, resized).max() == 28  # |7 - 0| x 4


def test_task_refuses_a_foreign_config(tmp_path: Path) -> None:
    from idiff_enhancement.config import DeblurConfig

    with pytest.raises(TypeError, match="DenoiseTask needs a DenoiseConfig, got DeblurConfig"):
        DenoiseTask(DeblurConfig(), TaskContext(32, tmp_path))
