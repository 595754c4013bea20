"""The app's predict tab: one uploaded image, a task's structured request or a free-text edit, the decoded view.

:class:`PredictSession` loads the model on the first prediction (so the picker tab works without a checkpoint) and
answers with :class:`idiff.prediction.predictor.Predictor`, the code path of ``idiff predict``; each answer is also
written like an ``idiff predict`` run, to ``<app run dir>/predictions/<n>/``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import typing
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from idiff.app.display import enlarge
from idiff.errors import IdiffError
from idiff.prediction.inputs import read_input
from idiff.prediction.predictor import Prediction, Predictor
from idiff.prediction.requests import EDIT_GUIDANCE, build_requests, guidance_scales, parse_request
from idiff.tasks.api import GuidanceScales, Task
from idiff.tasks.factory import build_task
from idiff.tasks.registry import TaskRegistry

__all__ = ["FREE_TEXT", "PredictAnswer", "PredictSession", "RequestField", "build_predict_tab", "request_fields"]

#: The task choice for a free-text edit.
FREE_TEXT = "edit (free text)"


@dataclasses.dataclass(frozen=True)
class RequestField:
    """One field of a task's ``Request`` dataclass as the app shows it."""

    name: str
    kind: str  # "list", "int", "float", "bool" or "str"
    default: Any
    help: str
    choices: list[str] | None


def _attribute_help(schema: type) -> dict[str, str]:
    """``name: text`` lines of the Google-style ``Attributes:`` section of a dataclass's docstring."""
    doc = (schema.__doc__ or "").split("Attributes:", 1)
    return dict(re.findall(r"^\s+(\w+): (.+)$", doc[1], re.MULTILINE)) if len(doc) == 2 else {}


def request_fields(task: Task) -> list[RequestField]:
    """The fields of the task's ``Request`` with their defaults, help text and closed sets of values."""
    schema = type(task).Request
    if schema is None:
        return []
    hints, helps, choices = typing.get_type_hints(schema), _attribute_help(schema), task.request_choices()
    fields = []
    for f in dataclasses.fields(schema):
        hint = hints[f.name]
        kind = "list" if typing.get_origin(hint) is list else getattr(hint, "__name__", "str")
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        fields.append(RequestField(f.name, kind, default, helps.get(f.name, ""), choices.get(f.name)))
    return fields


@dataclasses.dataclass
class PredictAnswer:
    """What the tab shows after a prediction."""

    generated: list[tuple[np.ndarray, str]]  # (image, instruction)
    overlay: np.ndarray | None
    decoded: dict[str, Any]  # the JSON files written in the field's formats, by name
    status: str
    out_dir: Path


class PredictSession:
    """The model (loaded on first use) and the tasks offered, shared by every browser tab of one server.

    Args:
        cfg: the composed config of ``idiff app`` (``ckpt``, ``sampler``, tasks' options ...).
        run_dir: the app's run directory; answers go to ``<run_dir>/predictions/<n>/``.
    """

    def __init__(self, cfg: DictConfig, run_dir: Path) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self._predictor: Predictor | None = None
        self._lock = threading.Lock()
        self._count = 0
        self.tasks: dict[str, Task] = {}
        self.errors: dict[str, str] = {}
        for name in TaskRegistry().names:
            try:
                self.tasks[name] = build_task(name, cfg)
            except IdiffError as err:
                self.errors[name] = str(err)

    @property
    def predictor(self) -> Predictor:
        """The loaded model (``ckpt``); loads it on first use."""
        if self._predictor is None:
            self._predictor = Predictor(self.cfg, progress=False)
        return self._predictor

    def default_scales(self, task_name: str) -> GuidanceScales:
        """The guidance scales a choice starts with: the task's (PAPER.md "Sampling") or the edit's."""
        task = self.tasks.get(task_name)
        return task.config.guidance if task is not None else EDIT_GUIDANCE

    def predict(self, image_path: str, task_name: str, instruction: str, request: dict[str, Any],
                text_scale: float, image_scale: float, seed: int) -> PredictAnswer:
        """Answer one image: a structured request when ``task_name`` is a task, a free-text edit otherwise."""
        if not image_path:
            raise IdiffError("upload an image first")
        with self._lock:  # one generation at a time: the model and its seed are shared
            predictor = self.predictor
            predictor.module.hparams["seed"] = int(seed)
            task = predictor.task(task_name) if task_name in self.tasks else None
            parsed = parse_request(task_name, type(task).Request, request) if task is not None else None
            inputs = [read_input(image_path, predictor.resolution)]
            requests = build_requests(inputs, None if task else instruction, task, parsed)
            scales = guidance_scales({"text": text_scale, "image": image_scale}, None)
            result = predictor.answer(requests, scales, task)
            self._count += 1
            out_dir = self.run_dir / "predictions" / f"{self._count:04d}"
            written = predictor.write(out_dir, result)
        return self._answer(result, written, out_dir, int(seed))

    @staticmethod
    def _answer(result: Prediction, written: list[Path], out_dir: Path, seed: int) -> PredictAnswer:
        overlays = result.overlays()
        decoded = {p.name: json.loads(p.read_text()) for p in written
                   if p.suffix == ".json" and p.name != "predictions.json"}
        lines = [f"Guidance text {result.scales.text:g} / image {result.scales.image:g}, seed {seed}.",
                 *(f"Instruction: {r.instruction}" for r in result.requests), f"Written to {out_dir}"]
        generated = [(enlarge(image), r.instruction) for image, r in zip(result.images, result.requests, strict=True)]
        overlay = next(iter(overlays.values()), None)
        return PredictAnswer(generated, None if overlay is None else enlarge(overlay), decoded, "\n\n".join(lines),
                             out_dir)


def _field_component(gr: Any, field: RequestField, elem_id: str) -> Any:
    label, info = field.name, field.help or None
    if field.choices is not None and field.kind == "int":
        return gr.Dropdown(choices=[(c, i) for i, c in enumerate(field.choices)], value=field.default, label=label,
                           info=info, elem_id=elem_id)
    if field.choices is not None:
        return gr.Dropdown(choices=field.choices, value=field.default, multiselect=field.kind == "list", label=label,
                           info=info, elem_id=elem_id)
    if field.kind in ("int", "float"):
        return gr.Number(value=field.default, precision=0 if field.kind == "int" else None, label=label, info=info,
                         elem_id=elem_id)
    if field.kind == "bool":
        return gr.Checkbox(value=field.default, label=label, info=info, elem_id=elem_id)
    value = ", ".join(field.default) if field.kind == "list" else field.default
    return gr.Textbox(value=value, label=label, info=info, elem_id=elem_id)


def build_predict_tab(gr: Any, session: PredictSession) -> None:
    """Add the predict tab's components and events to the current ``gr.Blocks`` (inside a ``gr.Tab``)."""
    names = [*(n for n in session.tasks if type(session.tasks[n]).Request is not None), FREE_TEXT]
    first = session.default_scales(names[0])
    with gr.Row():
        with gr.Column(scale=1):
            image = gr.Image(type="filepath", label="Image", height=320, elem_id="predict-image")
            task_choice = gr.Dropdown(choices=names, value=names[0], label="Task", elem_id="predict-task")
            instruction = gr.Textbox(label="Instruction (free-text edit)", visible=names[0] == FREE_TEXT,
                                     placeholder="Make it look like winter", elem_id="predict-instruction")
            groups, field_inputs, layout = {}, [], []
            for name in names[:-1]:
                with gr.Group(visible=name == names[0]) as group:
                    for f in request_fields(session.tasks[name]):
                        field_inputs.append(_field_component(gr, f, f"request-{name}-{f.name}"))
                        layout.append((name, f))
                groups[name] = group
            text_scale = gr.Slider(0, 15, value=first.text, step=0.25, label="Text guidance s_T",
                                   elem_id="predict-text-scale")
            image_scale = gr.Slider(0, 5, value=first.image, step=0.05, label="Image guidance s_I",
                                    elem_id="predict-image-scale")
            seed = gr.Number(value=int(session.cfg.seed), precision=0, label="Seed", elem_id="predict-seed")
            run = gr.Button("Run", variant="primary", elem_id="predict-run")
        with gr.Column(scale=2):
            with gr.Row():
                generated = gr.Gallery(label="Generated", columns=2, height=340, format="png",
                                       elem_id="predict-generated")
                overlay = gr.Image(label="Decoded (points, mask, box)", height=340, format="png",
                                   interactive=False, elem_id="predict-overlay")
            status = gr.Markdown(elem_id="predict-status")
            decoded = gr.JSON(label="Decoded, in the field's format", elem_id="predict-decoded")

    def choose(name: str) -> list[Any]:
        scales = session.default_scales(name)
        return [gr.update(visible=name == FREE_TEXT), gr.update(value=scales.text), gr.update(value=scales.image),
                *(gr.update(visible=n == name) for n in groups)]

    def answer(path: str, name: str, text: str, s_text: float, s_image: float, seed_value: float,
               *values: Any) -> list[Any]:
        request = {f.name: v for (n, f), v in zip(layout, values, strict=True) if n == name}
        try:
            result = session.predict(path, name, text, request, s_text, s_image, int(seed_value or 0))
        except IdiffError as err:
            return [[], None, None, f"**Error:** {err}"]
        return [result.generated, result.overlay, result.decoded, result.status]

    task_choice.change(choose, [task_choice], [instruction, text_scale, image_scale, *groups.values()])
    run.click(answer, [image, task_choice, instruction, text_scale, image_scale, seed, *field_inputs],
              [generated, overlay, decoded, status])
