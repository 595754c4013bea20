"""The human-alignment files: candidates to judge and the picks people made (PAPER.md "Model and training", Stage 3:
for each image, 20 generations with different guidance settings; people pick the best 0-2).

Both are JSON Lines, one record per line, written by appending one whole line at a time (``O_APPEND``, flushed and
fsynced), so a crash loses at most the line being written and never an earlier one. Readers skip a torn last line
(no newline at the end of the file); any other bad line is an error naming the file and the line.

``candidates.jsonl`` (written by ``idiff align generate``), one record per source image::

    {"image": "0001", "source": "sources/0001.png", "instruction": "Make it snow",
     "candidates": [{"path": "candidates/0001/00.png", "text_scale": 5.0, "image_scale": 1.25, "seed": 0}, ...]}

``picks.jsonl`` (written by the picker, read by the alignment stage), one record per judgement::

    {"image": "0001", "picks": [3, 17]}

``image`` is the key joining the two; ``picks`` holds 0, 1 or 2 distinct indices into that image's ``candidates``.
Paths are relative to the folder of ``candidates.jsonl``. When an image is judged again, its last record counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from idiff.errors import DataError
from idiff.jsonl import append_jsonl, read_jsonl

__all__ = [
    "CANDIDATES_FILE",
    "MAX_PICKS",
    "PICKS_FILE",
    "Candidate",
    "CandidatesRecord",
    "PicksRecord",
    "append_record",
    "check_picks",
    "first_unpicked",
    "latest_picks",
    "read_candidates",
    "read_jsonl",
    "read_picks",
]

CANDIDATES_FILE = "candidates.jsonl"
PICKS_FILE = "picks.jsonl"
#: People pick at most this many candidates per image.
MAX_PICKS = 2


@dataclass(frozen=True)
class Candidate:
    """One generation: its image file and the settings that made it."""

    path: str
    text_scale: float
    image_scale: float
    seed: int


@dataclass(frozen=True)
class CandidatesRecord:
    """The candidates of one source image."""

    image: str
    source: str
    instruction: str
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The record as written to ``candidates.jsonl``."""
        return {**asdict(self), "candidates": [asdict(c) for c in self.candidates]}


@dataclass(frozen=True)
class PicksRecord:
    """One judgement: the indices of the chosen candidates (0-2 of them)."""

    image: str
    picks: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The record as written to ``picks.jsonl``."""
        return {"image": self.image, "picks": list(self.picks)}


def append_record(path: str | Path, record: CandidatesRecord | PicksRecord) -> None:
    """Append ``record`` as one durable line (:func:`idiff.jsonl.append_jsonl`: a torn last line is cut off first)."""
    append_jsonl(path, [record.to_json()])


def _field(path: Path, number: int, record: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in record:
        raise DataError(f"{path}:{number}: missing {key!r}")
    if not isinstance(record[key], kind) or isinstance(record[key], bool):
        raise DataError(f"{path}:{number}: {key!r} has the wrong type ({type(record[key]).__name__})")
    return record[key]


def read_candidates(path: str | Path) -> list[CandidatesRecord]:
    """Every record of a ``candidates.jsonl``, in file order; an image listed twice is an error."""
    path = Path(path)
    records: list[CandidatesRecord] = []
    seen: set[str] = set()
    for number, raw in read_jsonl(path):
        image = str(_field(path, number, raw, "image", (str, int)))
        if image in seen:
            raise DataError(f"{path}:{number}: image {image!r} is listed twice")
        seen.add(image)
        candidates = []
        for entry in _field(path, number, raw, "candidates", list):
            if not isinstance(entry, dict):
                raise DataError(f"{path}:{number}: each candidate must be an object")
            candidates.append(Candidate(
                path=str(_field(path, number, entry, "path", str)),
                text_scale=float(_field(path, number, entry, "text_scale", (int, float))),
                image_scale=float(_field(path, number, entry, "image_scale", (int, float))),
                seed=int(_field(path, number, entry, "seed", int)),
            ))
        records.append(CandidatesRecord(
            image=image, source=str(_field(path, number, raw, "source", str)),
            instruction=str(_field(path, number, raw, "instruction", str)), candidates=tuple(candidates),
        ))
    return records


def read_picks(path: str | Path) -> list[PicksRecord]:
    """Every record of a ``picks.jsonl``, in file order (a missing file has none)."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for number, raw in read_jsonl(path):
        picks = _field(path, number, raw, "picks", list)
        if len(picks) > MAX_PICKS or len(set(picks)) != len(picks) or not all(
            isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in picks
        ):
            raise DataError(f"{path}:{number}: 'picks' must be 0-{MAX_PICKS} distinct indices, got {picks}")
        records.append(PicksRecord(image=str(_field(path, number, raw, "image", (str, int))), picks=tuple(picks)))
    return records


def check_picks(record: CandidatesRecord, picks: Sequence[int]) -> PicksRecord:
    """A picks record for ``record``: 0-2 distinct indices of its candidates, else a DataError saying so."""
    chosen = tuple(int(p) for p in picks)
    if len(chosen) > MAX_PICKS or len(set(chosen)) != len(chosen):
        raise DataError(f"image {record.image!r}: pick 0-{MAX_PICKS} distinct candidates, got {list(chosen)}")
    bad = [p for p in chosen if not 0 <= p < len(record.candidates)]
    if bad:
        raise DataError(f"image {record.image!r}: no candidate {bad[0]} (it has {len(record.candidates)})")
    return PicksRecord(image=record.image, picks=chosen)


def latest_picks(picks: Sequence[PicksRecord]) -> dict[str, tuple[int, ...]]:
    """The picks that count per image: the last record of each."""
    return {record.image: record.picks for record in picks}


def first_unpicked(candidates: Sequence[CandidatesRecord], picks: Sequence[PicksRecord]) -> int | None:
    """Index of the first candidates record without a picks record; None when every image is judged."""
    judged = latest_picks(picks)
    return next((i for i, record in enumerate(candidates) if record.image not in judged), None)
