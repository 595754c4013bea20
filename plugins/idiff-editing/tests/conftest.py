"""Fixtures of the editing tests: writers of tiny datasets in the real InstructPix2Pix and MagicBrush layouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_image(path: Path, value: int, size: tuple[int, int] = (24, 16)) -> np.ndarray:
    array = np.full((size[1], size[0], 3), value, np.uint8)
    array[0, 0] = (value + 100) % 256
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return array


def write_ip2p(root: Path, prompts: int = 20) -> None:
    """``seeds.json`` + ``<folder>/prompt.json`` + ``<seed>_0.jpg`` / ``<seed>_1.jpg``, as the public release."""
    seeds = []
    for k in range(prompts):
        folder = root / f"shard-00/{k:07d}"
        own = [str(1000 + k), str(2000 + k)] if k % 2 else [str(1000 + k)]
        for j, seed in enumerate(own):
            write_image(folder / f"{seed}_0.jpg", 5 * k + 30 * j)
            write_image(folder / f"{seed}_1.jpg", 5 * k + 30 * j + 100)
        prompt = {"input": f"photo {k}", "edit": f"make it {k}", "output": f"photo {k} edited", "url": "x"}
        (folder / "prompt.json").write_text(json.dumps(prompt))
        seeds.append([f"shard-00/{k:07d}", own])
    (root / "seeds.json").write_text(json.dumps(seeds))


def write_magicbrush(split: Path) -> None:
    """``edit_sessions.json`` + ``images/<img_id>/<img_id>-input.png``, ``-output<turn>.png``, ``-mask<turn>.png``."""
    sessions = {}
    for img_id, turns in (("327726", 2), ("242679", 1)):
        folder = split / "images" / img_id
        write_image(folder / f"{img_id}-input.png", 0)
        entries = []
        for turn in range(1, turns + 1):
            write_image(folder / f"{img_id}-output{turn}.png", 50 * turn)
            write_image(folder / f"{img_id}-mask{turn}.png", 255)
            source = f"{img_id}-input.png" if turn == 1 else f"{img_id}-output{turn - 1}.png"
            entries.append({"input": source, "output": f"{img_id}-output{turn}.png",
                            "instruction": f"edit {turn} of {img_id}", "mask": f"{img_id}-mask{turn}.png"})
        sessions[img_id] = entries
    (split / "edit_sessions.json").write_text(json.dumps(sessions))



@pytest.fixture(scope="session")
def ip2p_layout() -> Callable[[Path, int], None]:
    """:func:`write_ip2p`: ``ip2p_layout(root, prompts)``."""
    return write_ip2p


@pytest.fixture(scope="session")
def magicbrush_layout() -> Callable[[Path], None]:
    """:func:`write_magicbrush`: ``magicbrush_layout(split_dir)``."""
    return write_magicbrush


@pytest.fixture(scope="session")
def image_file() -> Callable[..., np.ndarray]:
    """:func:`write_image`: ``image_file(path, value, size=(24, 16))``."""
    return write_image
