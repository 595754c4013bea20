"""Human alignment (stage 3): people's picks among generated candidates, read back as training samples.

PAPER.md "Model and training": for each benchmark image the model samples under 20 guidance settings, people pick
the best 0-2 results, and the model is fine-tuned on the picks (about 10 epochs, EMA 0.99). Two JSON Lines files
(UTF-8, one JSON object per line, paths relative to the file's own folder):

``candidates.jsonl``, written by ``idiff align generate`` (:mod:`idiff.alignment.candidates`)::

    {"image": "000012", "source": "sources/000012.png", "instruction": "Circle the nose ...",
     "candidates": [{"path": "candidates/000012/00.png", "text_scale": 3.0, "image_scale": 0.5, "seed": 123},
                    ...]}

``picks.jsonl``, written by the picking page::

    {"image": "000012", "picks": [3, 17]}

``picks`` are indices into that image's ``candidates`` list: 0, 1 or 2 distinct ones. When an image has several
records the last one counts (a corrected pick replaces the earlier one). Each pick becomes one sample:
(source, instruction, picked candidate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from idiff.data.images import load_image
from idiff.errors import DataError
from idiff.jsonl import read_jsonl
from idiff.tasks.api import EditSample

__all__ = ["MAX_PICKS", "AlignmentData", "PickedEdit", "PickedEditsDataset", "picked_edits", "read_candidates",
           "read_jsonl", "read_picks"]

MAX_PICKS = 2


@dataclass
class PickedEdit:
    """One training sample of stage 3: the candidate people picked for (source, instruction)."""

    source: Path
    instruction: str
    target: Path


def _field(path: Path, number: int, record: dict[str, Any], key: str, kind: type) -> Any:
    value = record.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataError(f"{path}:{number}: field {key!r} must be a {kind.__name__}, got {value!r}")
    return value


def read_candidates(path: str | Path) -> dict[str, dict[str, Any]]:
    """``image id -> record`` of a candidates file; checks the fields the training reads."""
    path = Path(path)
    records = {}
    for number, record in read_jsonl(path):
        image = _field(path, number, record, "image", str)
        _field(path, number, record, "source", str)
        _field(path, number, record, "instruction", str)
        for i, candidate in enumerate(_field(path, number, record, "candidates", list)):
            if not isinstance(candidate, dict) or not isinstance(candidate.get("path"), str):
                raise DataError(f"{path}:{number}: candidates[{i}] needs a 'path' string")
        records[image] = record
    return records


def read_picks(path: str | Path) -> dict[str, tuple[int, list[int]]]:
    """``image id -> (line number, picked indices)``; the last record of an image counts."""
    path = Path(path)
    picks = {}
    for number, record in read_jsonl(path):
        image = _field(path, number, record, "image", str)
        chosen = _field(path, number, record, "picks", list)
        if len(chosen) > MAX_PICKS or len(set(map(repr, chosen))) != len(chosen):
            raise DataError(f"{path}:{number}: 'picks' holds 0 to {MAX_PICKS} distinct indices, got {chosen}")
        if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in chosen):
            raise DataError(f"{path}:{number}: 'picks' must be candidate indices (integers >= 0), got {chosen}")
        picks[image] = (number, chosen)
    return picks


def picked_edits(candidates_path: str | Path, picks_path: str | Path) -> list[PickedEdit]:
    """The training samples of the picks, in the order of the picks file's images."""
    candidates_path, picks_path = Path(candidates_path), Path(picks_path)
    candidates = read_candidates(candidates_path)
    root = candidates_path.parent
    edits = []
    for image, (number, chosen) in read_picks(picks_path).items():
        if image not in candidates:
            raise DataError(f"{picks_path}:{number}: image {image!r} is not in {candidates_path}")
        record = candidates[image]
        for index in chosen:
            if index >= len(record["candidates"]):
                raise DataError(
                    f"{picks_path}:{number}: pick {index} of image {image!r}, which has "
                    f"{len(record['candidates'])} candidates in {candidates_path}"
                )
            target = root / record["candidates"][index]["path"]
            edits.append(PickedEdit(root / record["source"], record["instruction"], target))
    return edits


class PickedEditsDataset(Dataset[EditSample]):
    """Picked edits as training samples at ``resolution`` (images centre-cropped and resized if needed)."""

    def __init__(self, edits: list[PickedEdit], resolution: int) -> None:
        self.edits = edits
        self.resolution = resolution

    def __len__(self) -> int:
        return len(self.edits)

    def __getitem__(self, index: int) -> EditSample:
        edit = self.edits[index]
        return EditSample(
            source=load_image(edit.source, self.resolution),
            target=load_image(edit.target, self.resolution),
            instruction=edit.instruction,
        )


class AlignmentData:
    """Stage 3's source of training samples (``prepare_data`` / ``train_dataset``, like a task).

    Args:
        candidates: the ``candidates.jsonl`` of ``idiff align generate``.
        picks: the ``picks.jsonl`` of the picking page.
        resolution: training resolution.
    """

    def __init__(self, candidates: str, picks: str, resolution: int) -> None:
        self.candidates = candidates
        self.picks = picks
        self.resolution = resolution

    def prepare_data(self) -> None:
        """Nothing to write: the files come from ``idiff align generate`` and the picking page."""

    def train_dataset(self) -> PickedEditsDataset:
        edits = picked_edits(self.candidates, self.picks)
        if not edits:
            raise DataError(f"{self.picks}: no picks (every record picks 0 candidates); nothing to fine-tune on")
        missing = next((p for e in edits for p in (e.source, e.target) if not p.is_file()), None)
        if missing is not None:
            raise DataError(f"{self.candidates}: {missing} is missing (paths are relative to the file's folder)")
        return PickedEditsDataset(edits, self.resolution)
