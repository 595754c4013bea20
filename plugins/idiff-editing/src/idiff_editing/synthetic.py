"""Synthetic editing data written in InstructPix2Pix's layout (:mod:`idiff_editing.ip2p`).

Each prompt folder holds a scene of 2-4 shapes (:mod:`idiff_editing.shapes`) and one edit of it, recolour, remove
or add (a third each), with its instruction from :data:`~idiff_editing.templates.EDIT_TEMPLATES` and the captions
of both scenes in ``prompt.json`` (``input``, ``edit``, ``output``). Every seed of a prompt renders the same scenes
with its own shape positions and sizes, as InstructPix2Pix keeps several generations per prompt; images are JPEGs
(quality 95) named ``<seed>_0.jpg`` / ``<seed>_1.jpg``; ``seeds.json`` lists the folders with their seeds.

The folder is written under a temporary name and renamed when complete (:func:`idiff.files.atomic_folder`), so an
interrupted run leaves no half dataset behind. Deterministic for a given ``seed``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from idiff.files import atomic_folder
from PIL import Image

from idiff_editing.shapes import COLOURS, KINDS, Scene, Shape, article, caption, layout, random_scene, render
from idiff_editing.templates import EDIT_TEMPLATES

__all__ = ["EDITS", "random_edit", "write_synthetic_ip2p"]

#: The synthetic edits, drawn with equal probability.
EDITS = ("recolour", "remove", "add")


def random_edit(rng: np.random.Generator) -> tuple[Scene, Scene, str]:
    """(scene before, scene after, instruction) of one random edit."""
    edit = EDITS[int(rng.integers(len(EDITS)))]
    before = random_scene(rng, int(rng.integers(2, 5)))
    phrase = EDIT_TEMPLATES[edit][int(rng.integers(len(EDIT_TEMPLATES[edit])))]
    if edit == "add":
        present = {(s.kind, s.colour) for s in before.shapes}
        options = [(k, c) for k in KINDS for c in COLOURS if (k, c) not in present]
        kind, colour = options[int(rng.integers(len(options)))]
        cells = before.free_cells()
        after = before.with_shape(Shape(kind, colour, cells[int(rng.integers(len(cells)))]))
        return before, after, phrase.format(colour=colour, kind=kind, a=article(colour))
    index = int(rng.integers(len(before.shapes)))
    shape = before.shapes[index]
    if edit == "remove":
        return before, before.without(index), phrase.format(colour=shape.colour, kind=shape.kind)
    used = {s.colour for s in before.shapes if s.kind == shape.kind}
    options = [c for c in COLOURS if c not in used]
    new = options[int(rng.integers(len(options)))]
    return before, before.recoloured(index, new), phrase.format(colour=shape.colour, kind=shape.kind, new=new)


def _jpeg(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def write_synthetic_ip2p(
    root: str | Path, prompts: int, seed: int = 0, size: int = 64, seeds_per_prompt: int = 2
) -> Path:
    """Write ``prompts`` synthetic edits in the InstructPix2Pix layout at ``root`` (replacing nothing).

    Args:
        root: the dataset folder to create (must not exist).
        prompts: number of prompt folders.
        seed: seed of the data.
        size: side of the square images.
        seeds_per_prompt: image pairs per prompt.
    """
    root = Path(root)
    if root.exists():
        raise FileExistsError(f"{root} exists; remove it to write the synthetic data again")
    if prompts < 1 or seeds_per_prompt < 1 or size < 16:
        raise ValueError("prompts and seeds_per_prompt must be >= 1 and size >= 16")
    rng = np.random.default_rng([seed, prompts, size])
    with atomic_folder(root) as staging:
        listing = []
        for number in range(prompts):
            before, after, instruction = random_edit(rng)
            folder = staging / f"{number:07d}"
            folder.mkdir()
            seeds = sorted(int(s) for s in rng.choice(10**6, size=seeds_per_prompt, replace=False))
            for image_seed in seeds:
                places = layout(after, np.random.default_rng([seed, number, image_seed]))
                (folder / f"{image_seed}_0.jpg").write_bytes(_jpeg(render(before, places, size)))
                (folder / f"{image_seed}_1.jpg").write_bytes(_jpeg(render(after, places, size)))
            prompt = {"input": caption(before), "edit": instruction, "output": caption(after)}
            (folder / "prompt.json").write_text(json.dumps(prompt), encoding="utf-8")
            listing.append([folder.name, [str(s) for s in seeds]])
        (staging / "seeds.json").write_text(json.dumps(listing), encoding="utf-8")
    return root
