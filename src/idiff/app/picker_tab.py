"""The human-alignment picker: show the 20 candidates of each image, record the best 0-2 (PAPER.md, Stage 3).

State lives in the files only (:mod:`idiff.alignment.records`): every judgement is appended to ``picks.jsonl`` and
fsynced before the next image is shown, and opening the tab again starts at the first image without a picks record,
so closing the browser or stopping the server loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from idiff.alignment.records import (
    CANDIDATES_FILE,
    MAX_PICKS,
    PICKS_FILE,
    CandidatesRecord,
    append_record,
    check_picks,
    first_unpicked,
    latest_picks,
    read_candidates,
    read_picks,
)
from idiff.app.display import enlarge
from idiff.errors import DataError

__all__ = ["PickerSession", "PickerView", "build_picker_tab"]


@dataclass
class PickerView:
    """What the tab shows for one image."""

    index: int
    record: CandidatesRecord
    source: str
    candidates: list[tuple[str, str]]  # (image path, caption)
    picks: list[int]  # the last judgement of this image, if any
    progress: str


class PickerSession:
    """The candidates file, its picks file beside it, and moving through the images.

    Args:
        candidates: ``candidates.jsonl``, or the folder holding it.
    """

    def __init__(self, candidates: str | Path) -> None:
        path = Path(candidates)
        self.candidates_path = path / CANDIDATES_FILE if path.is_dir() else path
        self.picks_path = self.candidates_path.parent / PICKS_FILE
        self.records = read_candidates(self.candidates_path)
        if not self.records:
            raise DataError(f"{self.candidates_path}: no candidates records")

    def _path(self, relative: str) -> str:
        return str(self.candidates_path.parent / relative)

    def resume(self) -> int:
        """The first image without a picks record (the last image when all are judged)."""
        index = first_unpicked(self.records, read_picks(self.picks_path))
        return len(self.records) - 1 if index is None else index

    def view(self, index: int) -> PickerView:
        """Image ``index`` (clamped to the valid range) with its candidates and its last picks."""
        index = min(max(int(index), 0), len(self.records) - 1)
        record = self.records[index]
        judged = latest_picks(read_picks(self.picks_path))
        candidates = [
            (self._path(c.path), f"#{i}: {c.text_scale:g} / {c.image_scale:g}")
            for i, c in enumerate(record.candidates)
        ]
        done = sum(1 for r in self.records if r.image in judged)
        state = f"judged: picks {list(judged[record.image])}" if record.image in judged else "not judged yet"
        progress = (f"Image {index + 1} of {len(self.records)} ({record.image}), {state}. "
                    f"{done} of {len(self.records)} judged; picks go to {self.picks_path}")
        return PickerView(index, record, self._path(record.source), candidates, list(judged.get(record.image, ())),
                          progress)

    def save(self, index: int, picks: list[int]) -> int:
        """Record ``picks`` (0-2 candidate indices) for image ``index``; returns the image to show next.

        Next is the first image after ``index`` without a picks record, else the first one before it, else ``index``.
        """
        record = self.records[index]
        append_record(self.picks_path, check_picks(record, sorted(int(p) for p in picks)))
        judged = latest_picks(read_picks(self.picks_path))
        order = list(range(index + 1, len(self.records))) + list(range(index))
        return next((i for i in order if self.records[i].image not in judged), index)


def _image(path: str, min_size: int = 256) -> np.ndarray:
    """An image as generated, enlarged (nearest pixel, :func:`enlarge`) to at least ``min_size``."""
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: cannot read image ({type(err).__name__}: {err})") from None
    return enlarge(rgb, min_size)


def build_picker_tab(gr: Any, candidates: str | None) -> tuple[Any, list[Any], Any]:
    """Add the picker's components and events to the current ``gr.Blocks`` (inside a ``gr.Tab``).

    Returns the path box, the components :func:`show` fills and ``show(path, index)`` itself, for ``Blocks.load``.
    """
    sessions: dict[str, PickerSession] = {}

    def session(path: str) -> PickerSession:
        key = str(Path(path).resolve())
        if key not in sessions:
            sessions[key] = PickerSession(path)
        return sessions[key]

    with gr.Row():
        path_box = gr.Textbox(value=candidates or "", scale=4, elem_id="picker-path",
                              label="Candidates file (candidates.jsonl of idiff align generate)")
        load_button = gr.Button("Load", scale=1, elem_id="picker-load")
    progress = gr.Markdown(elem_id="picker-progress")
    with gr.Row():
        source = gr.Image(label="Source", interactive=False, height=256, scale=1)
        instruction = gr.Textbox(label="Instruction", interactive=False, scale=2, elem_id="picker-instruction")
    gallery = gr.Gallery(label="Candidates (#index: text / image guidance): click to pick or unpick (0-2)",
                         columns=10, rows=2, height=250, allow_preview=False, format="png", elem_id="picker-gallery")
    picks = gr.CheckboxGroup(label=f"Best candidates (at most {MAX_PICKS}; none if none is good)",
                             elem_id="picker-picks")
    index = gr.State(-1)
    with gr.Row():
        back_button = gr.Button("Back", elem_id="picker-back")
        save_button = gr.Button("Save picks and next", variant="primary", elem_id="picker-save")
        next_button = gr.Button("Skip", elem_id="picker-skip")
    outputs = [index, progress, source, instruction, gallery, picks]

    def show(path: str, at: int, note: str = "") -> list[Any]:
        if not path:
            return [-1, "Give the candidates file of `idiff align generate` and press Load.", None, "", [], gr.update()]
        try:
            current = session(path)
            view = current.view(current.resume() if at < 0 else at)
            gallery_items = [(_image(p, 128), caption) for p, caption in view.candidates]
            choices = [(f"#{i}", i) for i in range(len(view.candidates))]
            return [view.index, f"{note}{view.progress}", _image(view.source),
                    view.record.instruction, gallery_items, gr.update(choices=choices, value=view.picks)]
        except DataError as err:
            return [-1, f"**Error:** {err}", None, "", [], gr.update(choices=[], value=[])]

    def save(path: str, at: int, chosen: list[int]) -> list[Any]:
        if at < 0:
            return show(path, at)
        if len(chosen or []) > MAX_PICKS:
            return [*show(path, at, f"**Pick at most {MAX_PICKS}** (you picked {len(chosen)}). ")[:-1],
                    gr.update(value=chosen)]
        nxt = session(path).save(at, list(chosen or []))
        return show(path, nxt, f"Saved picks {sorted(chosen or [])} for image {at + 1}. ")

    def toggle(chosen: list[int], event: Any) -> list[int]:
        chosen = list(chosen or [])
        return [c for c in chosen if c != event.index] if event.index in chosen else [*chosen, event.index]

    toggle.__annotations__["event"] = gr.SelectData  # Gradio passes the click's data to a parameter of this type

    load_button.click(lambda p: show(p, -1), [path_box], outputs)
    path_box.submit(lambda p: show(p, -1), [path_box], outputs)
    save_button.click(save, [path_box, index, picks], outputs)
    back_button.click(lambda p, i: show(p, max(i - 1, 0)), [path_box, index], outputs)
    next_button.click(lambda p, i: show(p, i + 1), [path_box, index], outputs)
    gallery.select(toggle, [picks], [picks])
    return path_box, outputs, show
