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
from idiff.data.manifest import ManifestRecord, read_manifest, write_manifest
from idiff.errors import ConfigError, DataError

__all__ = [
    "ConfigError",
    "DataError",
    "DecoderSample",
    "EditRequest",
    "EditSample",
    "ErrorPolicy",
    "GuidanceScales",
    "InputImage",
    "LearnedDecoding",
    "ManifestRecord",
    "SampleRandom",
    "Task",
    "TaskConfig",
    "TaskContext",
    "WorkerRandom",
    "dataset_file",
    "open_image",
    "read_manifest",
    "read_rgb",
    "write_manifest",
]


@dataclass
class EditSample:
    """One training sample: generate ``target`` from ``source`` following ``instruction``.

    Images are ``uint8`` arrays of shape (H, W, 3) at the training resolution.
    """

    source: np.ndarray
    target: np.ndarray
    instruction: str


@dataclass(frozen=True)
class InputImage:
    """The user's image behind an ``idiff predict`` request: its file, its size and the square the source shows.

    The source is the centre square ``box`` = (left, top, right, bottom) of the upright image, in its pixels,
    resized to the model's resolution (``PIL.ImageOps.fit``). Coordinates are pixel indices: the centre of the
    top-left pixel is (0, 0).

    Attributes:
        path: the image file.
        name: file name for outputs, unique within one predict run (the stem, made unique when two inputs share it).
        width: width of the upright image.
        height: height of the upright image.
        box: the square region the source shows.
    """

    path: str
    name: str
    width: int
    height: int
    box: tuple[float, float, float, float]

    def image_points(self, xy: np.ndarray, resolution: int) -> np.ndarray:
        """(N, 2) points in source pixels (a ``resolution`` square) -> the same points in image pixels."""
        left, top, right, _ = self.box
        scale = (right - left) / resolution
        return (np.asarray(xy, np.float64).reshape(-1, 2) + 0.5) * scale + np.array([left, top]) - 0.5

    def image_map(self, values: np.ndarray, fill: int = 0) -> np.ndarray:
        """A (R, R) mask or label map of the source -> (height, width), nearest pixel; ``fill`` outside ``box``."""
        values = np.asarray(values)
        res = values.shape[0]
        left, top, right, _ = self.box
        scale = res / (right - left)
        cols = np.floor((np.arange(self.width) + 0.5 - left) * scale).astype(np.int64)
        rows = np.floor((np.arange(self.height) + 0.5 - top) * scale).astype(np.int64)
        inside = ((rows >= 0) & (rows < res))[:, None] & ((cols >= 0) & (cols < res))[None, :]
        out = values[np.clip(rows, 0, res - 1)[:, None], np.clip(cols, 0, res - 1)[None, :]]
        return np.where(inside, out, np.asarray(fill, dtype=out.dtype))


@dataclass
class EditRequest:
    """One test-time request: an image and an instruction, plus what the decoder needs to read the result.

    ``meta`` is the task's own business (requested colours, crop transform, annotation ids ...); the core
    passes it through untouched. ``target`` is the encoded ground truth when known (used for image grids).
    ``origin`` is set by ``idiff predict``: the user's image the source was cut from.
    """

    source: np.ndarray
    instruction: str
    meta: dict[str, Any] = field(default_factory=dict)
    target: np.ndarray | None = None
    origin: InputImage | None = None


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


@dataclass
class DecoderSample:
    """One training sample of a learned decoder: a clean encoded target and the maps the decoder should output.

    ``source`` and ``target`` are uint8 (R, R, 3) as in :class:`EditSample`; ``label`` is float32 (C, R, R) in
    [0, 1], one map per output channel of the task's :class:`LearnedDecoding` (a heatmap per keypoint colour, a mask).
    The core degrades ``target`` the way generated images differ from encodings before the decoder sees it.
    """

    source: np.ndarray
    target: np.ndarray
    label: np.ndarray


class LearnedDecoding(abc.ABC):
    """What a learned (U-Net) decoder of a task outputs, learns from, and how its output becomes a prediction.

    PAPER.md "Decoding": a lightweight U-Net reads the generated image into "a multi-channel heatmap" (keypoints) or
    an object's mask. The core owns the network, the degradation of training targets and the training loop
    (``idiff fit stage=decoder``); a task returns one of these from :meth:`Task.learned_decoding`. The network sees
    the generated image and the source, and outputs ``channels`` maps in [0, 1] at the source's resolution.
    """

    #: Number of output maps (e.g. 9 keypoint colours, 1 mask).
    channels: int = 1

    @abc.abstractmethod
    def train_dataset(self) -> Dataset[DecoderSample]:
        """Encoded training samples with their target maps, at ``context.resolution`` (the train split)."""

    @abc.abstractmethod
    def label(self, request: EditRequest) -> np.ndarray:
        """The float32 (C, R, R) maps a perfect decoder outputs for a test request (from its ground truth)."""

    @abc.abstractmethod
    def read(self, maps: np.ndarray, request: EditRequest) -> Any:
        """The prediction :meth:`Task.decode` would return, from the network's float32 (C, R, R) maps in [0, 1]."""


class WorkerRandom(SampleRandom):
    """The former name of :class:`SampleRandom`, kept for plugins written against it.

    Outside a training draw it is the same per-process / per-worker generator it always was (seeded from the run
    seed, the worker id and ``torch.initial_seed()``); inside one (the training mixture) it is keyed by the draw, so
    a resumed run repeats its choices. New code uses :class:`SampleRandom`.
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)


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

    def learned_decoding(self) -> LearnedDecoding | None:
        """What a learned decoder of this task learns and how its maps are read (optional; default: none).

        With one, ``idiff fit stage=decoder task=<name>`` trains a U-Net decoder and ``idiff test decoder=learned``
        (or ``both``) reads generated images with it instead of (beside) :meth:`decode`.
        """
        return None

    # ---------------------------------------------------------------- prediction on the user's images (optional)
    #: The structured request of ``idiff predict`` / the app (``request.<field>=...``): a dataclass whose fields
    #: have defaults, or None when the task takes free-text instructions only.
    Request: ClassVar[type | None] = None

    def predict_requests(self, source: np.ndarray, request: Any) -> list[EditRequest]:
        """The requests that answer ``request`` (an instance of ``Request``) on one user image.

        ``source`` is uint8 (R, R, 3) at ``context.resolution``. Each request's ``meta`` must let ``decode`` read
        the generated image (as for test requests). Invalid values raise :class:`~idiff.errors.ConfigError` naming
        the field and the allowed values (e.g. an unknown joint name).
        """
        raise ConfigError(f"task {type(self).__name__} takes no structured request; give instruction=\"...\"")

    def request_choices(self) -> dict[str, list[str]]:
        """Allowed values of ``Request`` fields that have a closed set (joint names, colours, templates).

        The app offers them as drop-downs; for an ``int`` field the value is the index of the chosen entry.
        """
        return {}

    def write_predictions(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> list[Path]:
        """Write decoded predictions of user images in the field's formats; returns the files written.

        Every request comes from ``predict_requests`` and has ``origin`` set; write coordinates and maps in the
        original image's pixels (:meth:`InputImage.image_points`, :meth:`InputImage.image_map`). Write atomically
        (``idiff.files``). Default: nothing.
        """
        return []
