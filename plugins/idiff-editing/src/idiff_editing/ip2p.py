"""Reader of InstructPix2Pix's generated data (``clip-filtered-dataset`` / ``random-sample-dataset``).

The layout, as written by the public ``dataset_creation/prepare_dataset.py`` and read by ``edit_dataset.py``::

    <root>/seeds.json                      [[folder, [seed, ...]], ...], sorted by folder
    <root>/<folder>/prompt.json            {"input": caption, "edit": instruction, "output": caption, ...}
    <root>/<folder>/<seed>_0.jpg           the source image of that seed
    <root>/<folder>/<seed>_1.jpg           the edited image

The public code splits ``seeds.json`` by position into train / val / test fractions (0.9, 0.05, 0.05):
prompt ``i`` of ``n`` belongs to the split whose range holds ``i``, with the boundaries ``floor(f * n)``.
``caption`` is accepted for the input caption when ``input`` is missing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from idiff.tasks.api import ErrorPolicy, dataset_file

from idiff_editing.pairs import EditingDataError, EditPair

__all__ = ["IP2P_SPLITS", "read_ip2p", "split_range"]

#: The split names of ``edit_dataset.py``, in order.
IP2P_SPLITS = ("train", "val", "test")


def split_range(count: int, fractions: Sequence[float], split: str) -> range:
    """Indices of ``split`` among ``count`` prompts, as ``edit_dataset.py`` cuts them."""
    if split not in IP2P_SPLITS:
        raise ValueError(f"split must be one of {', '.join(IP2P_SPLITS)}; got {split!r}")
    k = IP2P_SPLITS.index(split)
    low, high = sum(fractions[:k]), sum(fractions[: k + 1])
    return range(math.floor(low * count), math.floor(high * count))


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EditingDataError(f"{path}: {what} not found (InstructPix2Pix layout: seeds.json, <folder>/prompt.json, "
                               "<folder>/<seed>_0.jpg and <seed>_1.jpg)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EditingDataError(f"{path}: cannot read {what} as JSON ({err})") from None


def _prompt_text(prompt: Any, key: str, path: Path, required: bool) -> str:
    value = prompt.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise EditingDataError(f"{path}: '{key}' is {value!r}, expected a non-empty string")
    return value.strip()


def _pair(root: Path, entry: Any, number: int) -> EditPair:
    where = f"{root / 'seeds.json'}: entry {number}"
    if not (isinstance(entry, list | tuple) and len(entry) == 2 and isinstance(entry[1], list) and entry[1]):
        raise EditingDataError(f"{where} is {entry!r}, expected [folder, [seed, ...]] with at least one seed")
    folder = dataset_file(root, entry[0], f"{where} folder")
    for seed in entry[1]:
        if not isinstance(seed, int | str) or isinstance(seed, bool) or not str(seed).strip():
            raise EditingDataError(f"{where}: seed {seed!r} is neither a number nor a name")
    prompt_file = folder / "prompt.json"
    prompt = _load_json(prompt_file, "prompt.json")
    if not isinstance(prompt, dict):
        raise EditingDataError(f"{prompt_file}: expected an object with 'input', 'edit' and 'output'")
    caption = _prompt_text(prompt, "input" if "input" in prompt else "caption", prompt_file, False)
    variants = tuple((folder / f"{seed}_0.jpg", folder / f"{seed}_1.jpg") for seed in entry[1])
    return EditPair(
        name=str(entry[0]), variants=variants, instruction=_prompt_text(prompt, "edit", prompt_file, True),
        input_caption=caption, output_caption=_prompt_text(prompt, "output", prompt_file, False),
    )


def read_ip2p(
    root: str | Path, split: str = "train", fractions: Sequence[float] = (0.9, 0.05, 0.05),
    errors: ErrorPolicy | None = None,
) -> list[EditPair]:
    """The pairs of one split of an InstructPix2Pix dataset folder (images are opened when loaded).

    Args:
        root: the folder holding ``seeds.json``.
        split: ``train``, ``val`` or ``test``.
        fractions: the three split fractions (summing to 1).
        errors: what to do with a bad prompt (default: raise).

    Raises:
        EditingDataError: ``seeds.json`` is missing or malformed, or a prompt is bad and ``errors`` says raise.
    """
    root = Path(root)
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {list(fractions)}")
    seeds = _load_json(root / "seeds.json", "seeds.json")
    if not isinstance(seeds, list):
        raise EditingDataError(f"{root / 'seeds.json'}: expected a list of [folder, [seed, ...]]")
    policy = errors or ErrorPolicy()
    pairs = []
    for number in split_range(len(seeds), fractions, split):
        with policy.guard():
            pairs.append(_pair(root, seeds[number], number))
    return pairs
