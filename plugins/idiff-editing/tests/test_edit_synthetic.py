"""Synthetic edits of shape scenes, written in the InstructPix2Pix layout and read back by its reader."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from idiff_editing.ip2p import read_ip2p
from idiff_editing.shapes import COLOURS, caption, layout, random_scene, render
from idiff_editing.synthetic import random_edit, write_synthetic_ip2p

COLOUR = "|".join(COLOURS)


def test_written_in_the_real_layout_and_deterministic(tmp_path) -> None:
    root = write_synthetic_ip2p(tmp_path / "a", 6, seed=3, size=32)
    listing = json.loads((root / "seeds.json").read_text())
    assert [entry[0] for entry in listing] == [f"{k:07d}" for k in range(6)]
    for folder, seeds in listing:
        prompt = json.loads((root / folder / "prompt.json").read_text())
        assert set(prompt) == {"input", "edit", "output"} and len(seeds) == 2
        assert all((root / folder / f"{s}_{k}.jpg").is_file() for s in seeds for k in (0, 1))
    pairs = read_ip2p(root, "train", (1.0, 0.0, 0.0))
    assert len(pairs) == 6 and pairs[0].load(1)[0].shape == (32, 32, 3)
    again = write_synthetic_ip2p(tmp_path / "b", 6, seed=3, size=32)
    assert (again / "seeds.json").read_text() == (root / "seeds.json").read_text()
    with pytest.raises(FileExistsError, match="remove it"):
        write_synthetic_ip2p(root, 1)


def _pixels_of(image: np.ndarray, colour: str) -> int:
    return int((np.abs(image.astype(int) - COLOURS[colour]).sum(-1) < 30).sum())


@pytest.mark.parametrize("draw", range(30))
def test_each_edit_does_what_its_instruction_says(draw: int) -> None:
    before, after, instruction = random_edit(np.random.default_rng(draw))
    places = layout(after, np.random.default_rng(draw))
    src, tgt = render(before, places, 64), render(after, places, 64)
    recolour = rf"(?:turn|make|paint|change the colour of) the ({COLOUR}) (\w+)(?: to)? ({COLOUR})"
    if m := re.fullmatch(recolour, instruction):
        old, kind, new = m.groups()
        assert f"{kind}" in caption(before) and f"{new} {kind}" in caption(after)
        assert _pixels_of(tgt, new) > _pixels_of(src, new) and _pixels_of(tgt, old) < _pixels_of(src, old)
    elif m := re.fullmatch(rf"(?:remove|delete|take away|erase) the ({COLOUR}) (\w+)", instruction):
        colour, kind = m.groups()
        assert f"{colour} {kind}" in caption(before) and f"{colour} {kind}" not in caption(after)
        assert _pixels_of(tgt, colour) < _pixels_of(src, colour)
    else:
        m = re.match(rf"(?:add|draw|put|place) an? ({COLOUR}) (\w+)", instruction)
        assert m, instruction
        colour, kind = m.groups()
        assert f"{colour} {kind}" not in caption(before) and f"{colour} {kind}" in caption(after)
        assert _pixels_of(tgt, colour) > _pixels_of(src, colour)
    changed = np.any(src != tgt, axis=-1)
    assert 0 < changed.mean() < 0.2  # one shape changes, the rest of the scene stays


def test_shapes_are_unique_per_scene() -> None:
    for k in range(50):
        scene = random_scene(np.random.default_rng(k), 4)
        assert len({(s.kind, s.colour) for s in scene.shapes}) == 4 and len({s.cell for s in scene.shapes}) == 4
