"""What a prediction asks for, and with which guidance scales.

Either a free-text ``instruction`` (an edit: PAPER.md "Sampling" gives 5.0 / 1.25 for editing), or a task's
structured request, ``task=<name> request.<field>=...`` (e.g. ``request.joints=[nose,left_wrist]``), which the task
turns into instructions it can decode, answered with the task's own scales (keypoints 6.0 / 0.5, segmentation
7.5 / 1.5). ``guidance.text`` / ``guidance.image`` override either.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from idiff.errors import ConfigError
from idiff.tasks.api import EditRequest, GuidanceScales, InputImage, Task

__all__ = ["EDIT_GUIDANCE", "build_requests", "guidance_scales", "parse_request"]

#: The paper's scales for free-text edits (PAPER.md "Sampling": editing 5.0 / 1.25).
EDIT_GUIDANCE = GuidanceScales(text=5.0, image=1.25)


def _is_list_field(schema: type, name: str) -> bool:
    return typing.get_origin(typing.get_type_hints(schema)[name]) is list


def _as_list(value: Any) -> list[Any]:
    """A list value: lists stay, ``"nose, left_wrist"`` is split at commas, None is empty."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)


def parse_request(task_name: str, schema: type | None, options: Mapping[str, Any] | None) -> Any | None:
    """The ``request.<field>=`` values as an instance of the task's ``Request`` dataclass; None when there are none.

    A list field also takes one comma-separated string. Unknown fields and wrong types name the field and what is
    allowed.
    """
    if not options:
        return None
    if schema is None:
        raise ConfigError(f'request.*: task {task_name!r} takes no structured request; give instruction="..." instead')
    names = [f.name for f in dataclasses.fields(schema)]
    unknown = [key for key in options if key not in names]
    if unknown:
        allowed = ", ".join(names)
        raise ConfigError(f"request.{unknown[0]}: not a field of the request of task {task_name!r}; allowed: {allowed}")
    values = {key: _as_list(value) if _is_list_field(schema, key) else value for key, value in options.items()}
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), values))
    except OmegaConfBaseException as err:
        key = f"request.{err.full_key}" if getattr(err, "full_key", None) else "request"
        raise ConfigError(f"{key} (task {task_name!r}): {err.msg}".splitlines()[0]) from err
    except (TypeError, ValueError) as err:  # the Request dataclass's own __post_init__ validation
        raise ConfigError(f"request (task {task_name!r}): {err}".splitlines()[0]) from err


def guidance_scales(configured: Mapping[str, Any] | None, task_scales: GuidanceScales | None) -> GuidanceScales:
    """``guidance.text`` / ``guidance.image`` where set, else the task's scales (structured request) or the edit's."""
    base = task_scales or EDIT_GUIDANCE
    configured = configured or {}
    chosen = {key: getattr(base, key) if configured.get(key) is None else configured[key] for key in ("text", "image")}
    try:
        return GuidanceScales(text=float(chosen["text"]), image=float(chosen["image"]))
    except ValueError as err:
        raise ConfigError(str(err)) from err


def build_requests(
    inputs: Sequence[tuple[InputImage, np.ndarray]], instruction: str | None, task: Task | None, request: Any | None
) -> list[EditRequest]:
    """The requests for every input image: the task's answers to ``request``, or one edit per image.

    Without ``task`` a structured request gives no requests (the caller only checks the question is well posed).
    """
    if request is not None:
        if instruction:
            raise ConfigError('give either instruction="..." or request.<field>=..., not both')
        if task is None:
            return []
        requests = []
        for origin, source in inputs:
            for answer in task.predict_requests(source, request):
                answer.origin = origin
                requests.append(answer)
        return requests
    if not instruction:
        raise ConfigError(
            'predict needs instruction="..." (a free-text edit) or task=<name> request.<field>=... (a task\'s request)'
        )
    return [EditRequest(source=source, instruction=str(instruction), origin=origin) for origin, source in inputs]
