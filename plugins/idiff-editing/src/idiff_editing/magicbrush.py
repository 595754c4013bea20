"""Reader of MagicBrush (Zhang et al., NeurIPS 2023 Datasets and Benchmarks), its unzipped JSON release.

Each split folder (``train``, ``dev``, ``test``) of the release holds::

    <split>/edit_sessions.json       {img_id: [turn, ...]}, a turn {"input", "output", "instruction", "mask"}
    <split>/images/<img_id>/<img_id>-input.png      the first turn's source
    <split>/images/<img_id>/<img_id>-output1.png    turn 1's edited image (turn 2's source), -output2.png, ...
    <split>/images/<img_id>/<img_id>-mask1.png      the region annotators painted (not read)

File names in a turn are relative to the session's image folder. Every turn is one pair (source = ``input``,
target = ``output``): multi-turn sessions give each turn on the previous turn's ground truth, the "all-turn"
setting of MagicBrush's evaluation. The Hugging Face copy (parquet with the images inline) is not read: save its
rows in this layout or as a JSONL manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idiff.tasks.api import ErrorPolicy, dataset_file

from idiff_editing.pairs import EditingDataError, EditPair

__all__ = ["TURN_KEYS", "read_magicbrush"]

#: The keys of a turn that are read (``mask`` is optional here).
TURN_KEYS = ("input", "output", "instruction")


def _turn(images: Path, session: str, index: int, turn: Any, where: str) -> EditPair:
    where = f"{where}: session {session!r} turn {index + 1}"
    if not isinstance(turn, dict):
        raise EditingDataError(f"{where} is {type(turn).__name__}, expected an object with {', '.join(TURN_KEYS)}")
    for key in TURN_KEYS:
        if not isinstance(turn.get(key), str) or not turn[key].strip():
            raise EditingDataError(f"{where}: '{key}' is {turn.get(key)!r}, expected a non-empty string")
    folder = dataset_file(images, session, f"{where} img_id")
    source = dataset_file(folder, turn["input"], f"{where} 'input'")
    target = dataset_file(folder, turn["output"], f"{where} 'output'")
    return EditPair(f"{session}/{index + 1}", ((source, target),), turn["instruction"].strip())


def read_magicbrush(split_dir: str | Path, errors: ErrorPolicy | None = None) -> list[EditPair]:
    """Every turn of every session of one MagicBrush split folder, sessions in file order.

    Raises:
        EditingDataError: ``edit_sessions.json`` is missing or malformed, or a turn is bad and ``errors`` says raise.
    """
    split_dir = Path(split_dir)
    file = split_dir / "edit_sessions.json"
    try:
        sessions = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EditingDataError(
            f"{file}: not found (MagicBrush layout: <split>/edit_sessions.json and <split>/images/<img_id>/)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EditingDataError(f"{file}: cannot read it as JSON ({err})") from None
    if not isinstance(sessions, dict):
        raise EditingDataError(f"{file}: expected an object mapping img_id to its list of turns")
    policy = errors or ErrorPolicy()
    pairs = []
    for session, turns in sessions.items():
        with policy.guard():
            if not isinstance(turns, list) or not turns:
                raise EditingDataError(f"{file}: session {session!r} is {turns!r}, expected a non-empty list of turns")
        for index, turn in enumerate(turns if isinstance(turns, list) else []):
            with policy.guard():
                pairs.append(_turn(split_dir / "images", str(session), index, turn, str(file)))
    return pairs
