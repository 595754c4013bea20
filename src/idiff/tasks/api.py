"""The task-plugin contract: what a vision task supplies to idiff.

InstructDiffusion (Geng et al., CVPR 2024, Sec. 3) casts every vision task as instructional image editing:
a sample is (instruction, source image, target image). A task plugin turns its labels into such samples
(the *encoder*), turns generated images back into labels (the *decoder*) and scores them (the *evaluator*).

Plugins import this module, torch, numpy and PIL; never Lightning. The core never imports a plugin by name:
it finds plugins through the ``idiff.tasks`` entry-point group (see :mod:`idiff.tasks.registry`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from torch.utils.data import Dataset

from idiff.data.dataset_paths import dataset_file
from idiff.data.draws import SampleRandom
from idiff.data.error_policy import ErrorPolicy
from idiff.data.images import open_image, read_rgb
from idiff.errors import DataError

__all__ = [
    "DataError",
    "EditRequest",
    "EditSample",
    "ErrorPolicy",
    "GuidanceScales",
    "SampleRandom",
    "Task",
    "TaskConfig",
    "TaskContext",
    "dataset_file",
    "open_image",
    "read_rgb",
]


@dataclass
class EditSample:
    """One training sample: generate ``target`` from ``source`` following ``instruction``.

    Images are ``uint8`` arrays of shape (H, W, 3) at the training resolution.
    """

    source: np.ndarray
    target: np.ndarray
    instruction: str


@dataclass
class EditRequest:
    """One test-time request: an image and an instruction, plus what the decoder needs to read the result.

    ``meta`` is the task's own business (requested colours, crop transform, annotation ids ...); the core
    passes it through untouched. ``target`` is the encoded ground truth when known (used for image grids).
    """

    source: np.ndarray
    instruction: str
    meta: dict[str, Any] = field(default_factory=dict)
    target: np.ndarray | None = None


@dataclass
class GuidanceScales:
    """Classifier-free guidance scales: ``text`` (s_T) and ``image`` (s_I), PAPER.md "Sampling"."""

    text: float = 5.0
    image: float = 1.25

    def __post_init__(self) -> None:
        for key, scale in (("text", self.text), ("image", self.image)):
            if not float(scale) >= 0:  # also refuses NaN
                raise ValueError(f"guidance.{key}={scale}: guidance scales must be >= 0 (1 = no guidance)")


@dataclass
class TaskConfig:
    """Options every task has; a plugin subclasses this dataclass and adds its own fields.

    Attributes:
        data_dir: where the task's dataset lives (real layout), relative paths resolve against the
            working directory. Empty means the core's ``paths.data_dir`` / ``<task name>``.
        synthetic: generate a small synthetic dataset in the real layout under ``data_dir`` if missing.
        guidance: guidance scales used at test / predict time for this task.
        max_test_requests: cap on test requests (0 = all), to keep evaluation quick; the task applies it in
            ``test_requests`` (it knows which requests belong together, e.g. all joints of one person).
    """

    data_dir: str = ""
    synthetic: bool = True
    guidance: GuidanceScales = field(default_factory=GuidanceScales)
    max_test_requests: int = 0


@dataclass
class TaskContext:
    """What the core tells a task about the run: image size, where data lives, the seed, the bad-data policy.

    ``errors`` is the run's ``data.on_error`` policy for this task: wrap the reading of each record (annotation,
    image entry, image) in ``with self.context.errors.guard():`` so that a bad one either stops the run with its
    :class:`DataError` or is skipped and counted (docs/adding-a-task.md, "Errors").
    """

    resolution: int
    data_dir: Path
    seed: int = 0
    errors: ErrorPolicy = field(default_factory=ErrorPolicy)


class Task(abc.ABC):
    """Base class of a task plugin. Subclasses set ``Config`` and implement the abstract methods.

    The entry point ``name = "package.module:TaskClass"`` in group ``idiff.tasks`` names the task.
    """

    #: The plugin's config schema: a dataclass subclassing :class:`TaskConfig`.
    Config: ClassVar[type[TaskConfig]] = TaskConfig

    def __init__(self, config: TaskConfig, context: TaskContext) -> None:
        self.config = config
        self.context = context

    @property
    def data_dir(self) -> Path:
        """Root of this task's dataset."""
        return Path(self.config.data_dir) if self.config.data_dir else self.context.data_dir

    def prepare_data(self) -> None:  # noqa: B027 - optional hook
        """Write the synthetic dataset if configured and missing. Called once, on one process."""

    @abc.abstractmethod
    def train_dataset(self) -> Dataset[EditSample]:
        """Dataset of encoded training samples at ``context.resolution``."""

    @abc.abstractmethod
    def test_requests(self) -> list[EditRequest]:
        """Requests that together cover the test split (e.g. every joint of every person)."""

    @abc.abstractmethod
    def decode(self, generated: np.ndarray, request: EditRequest) -> Any:
        """Read a label (keypoints, mask, image ...) from a generated ``uint8`` (H, W, 3) image."""

    @abc.abstractmethod
    def evaluate(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> dict[str, float]:
        """Score decoded predictions against ground truth; may write field-standard files to ``out_dir``."""

    def render(self, request: EditRequest, prediction: Any) -> np.ndarray:
        """An RGB ``uint8`` view of a decoded prediction over the source, for image grids."""
        return request.source
