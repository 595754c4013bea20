"""pytest plugin (entry point ``pytest11``): fixtures that give task authors a tiny model, tiny data and an isolated
plugin registry, so a new task's tests are a few lines.

Installed with idiff, so every test of every plugin can ask for these fixtures (as napari's npe2 does for its
plugin authors). Each one is a factory, called inside the test:

- ``idiff_config(verb, *overrides)``: the CLI's config with a tiny model (:data:`TINY_OVERRIDES`), runs and data
  under ``tmp_path``.
- ``idiff_task(name, resolution=32, seed=0, **options)``: the task built as a run builds it, its options checked
  against its config dataclass, its data under ``tmp_path / "data" / name``.
- ``idiff_isolated_registry(name="module:Class" or a Task subclass, ...)``: a registry of only these tasks, which
  the other fixtures of the test use from then on.
- ``idiff_fit_tiny(name, *overrides)``: ``last.ckpt`` of 2 training steps of the tiny model on task ``name`` alone.
- ``idiff_test_tiny(name, *overrides, ckpt="latest")``: the metrics of ``idiff test`` (2 sampling steps); its files
  are in ``tmp_path / "runs" / "test" / "tiny"``.
- ``idiff_tiny_clip``: the folder of a tiny random CLIP model, image processor and tokenizer
  (:func:`idiff.testing.tiny_clip.write_tiny_clip`), written once per session, for :mod:`idiff.quality` scores.

Nothing leaks between tests: task configs that a test registers in Hydra's ``ConfigStore`` are removed at its end,
and a registry made by ``idiff_isolated_registry`` lives only in that test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig

TINY_OVERRIDES = [
    "init_weights=null",  # the embedded default starts from the shipped reference, whose model is bigger ...
    "++stage.wise_ft=null",  # ... and averages with it (WiSE-FT), which a random start cannot (stage=decoder: no key)
    "model.resolution=32",
    "model.codec.factor=2",
    "model.unet.block_out_channels=[32,64]",
    "model.text_encoder.hidden_size=32",
    "model.text_encoder.intermediate_size=64",
    "model.unet.attention_head_dim=8",
    "data.batch_size=4",
    "data.eval_batch_size=8",
    "sampler.num_steps=2",
    "trainer.max_steps=2",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "checkpoint.every_n_train_steps=1",
]

#: ``model.resolution`` of :data:`TINY_OVERRIDES`, the default resolution of ``idiff_task``.
TINY_RESOLUTION = 32


@dataclass
class _TestState:
    """What the fixtures of one test share: its folder and the registry it chose (``None``: the installed one)."""

    root: Path
    registry: Any = None


@contextlib.contextmanager
def isolated_task_configs() -> Iterator[None]:
    """Forget, on exit, the task configs registered in Hydra's ``ConfigStore`` (group ``task``) inside the block."""
    from hydra.core.config_store import ConfigStore

    repo = ConfigStore.instance().repo
    had, before = "task" in repo, dict(repo.get("task", {}))
    try:
        yield
    finally:
        if had:
            repo["task"] = before
        else:
            repo.pop("task", None)


@pytest.fixture
def _idiff_state(tmp_path: Path) -> Iterator[_TestState]:
    with isolated_task_configs():
        yield _TestState(tmp_path)


@pytest.fixture
def idiff_config(_idiff_state: _TestState) -> Callable[..., DictConfig]:
    """Compose an idiff config with a tiny model, data and runs under ``tmp_path``: ``idiff_config("fit", ...)``."""
    from idiff.cli import compose_config

    root = _idiff_state.root

    def make(verb: str = "fit", *overrides: str) -> DictConfig:
        base = [*TINY_OVERRIDES, f"paths.runs_dir={root / 'runs'}", f"paths.data_dir={root / 'data'}"]
        return compose_config(verb, [*base, *overrides], registry=_idiff_state.registry)

    return make


@pytest.fixture
def idiff_isolated_registry(_idiff_state: _TestState) -> Callable[..., Any]:
    """Make a registry of only the given tasks: ``idiff_isolated_registry(mytask="idiff_mytask.task:MyTask")``.

    A value is an entry-point string ``"module:Class"`` or the ``Task`` subclass itself. From the call on, the
    test's ``idiff_config``, ``idiff_task``, ``idiff_fit_tiny`` and ``idiff_test_tiny`` find tasks only there
    (so ``idiff_config`` needs ``task=<name>``: the default task, keypoints, is not in it).
    """
    from idiff.tasks.registry import ENTRY_POINT_GROUP, TaskRegistry

    def make(**tasks: str | type) -> TaskRegistry:
        points = []
        for name, target in tasks.items():
            value = target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"
            points.append(EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP))
        _idiff_state.registry = TaskRegistry(points)
        return _idiff_state.registry

    return make


@pytest.fixture
def idiff_task(_idiff_state: _TestState) -> Callable[..., Any]:
    """Build task ``name`` with ``**options`` (checked like ``task.<option>=``) and its data under ``tmp_path``.

    ``idiff_task("mytask", resolution=64, synthetic=False)``: the options go through the plugin's config dataclass
    as the CLI's do (a bad one raises :class:`idiff.errors.ConfigError` naming it); the context has the resolution,
    ``data_dir = tmp_path / "data" / name`` and the seed.
    """
    from idiff.tasks.api import Task, TaskContext
    from idiff.tasks.factory import task_config
    from idiff.tasks.registry import TaskRegistry

    def make(name: str, resolution: int = TINY_RESOLUTION, seed: int = 0, **options: Any) -> Task:
        cls = (_idiff_state.registry or TaskRegistry()).load(name)
        config = task_config(name, cls.Config, options)
        return cls(config, TaskContext(resolution=resolution, data_dir=_idiff_state.root / "data" / name, seed=seed))

    return make


@pytest.fixture
def idiff_fit_tiny(_idiff_state: _TestState, idiff_config: Callable[..., DictConfig]) -> Callable[..., Path]:
    """Train the tiny model for 2 steps on task ``name`` alone; returns ``last.ckpt``.

    ``idiff_fit_tiny("mytask", "task.synthetic_train_images=8")``: overrides as on the command line (``task.*`` are
    the task's options). The run is ``tmp_path / "runs" / "fit" / "tiny"``, so ``ckpt=latest`` finds it.
    """

    def fit_tiny(name: str, *overrides: str) -> Path:
        from idiff.workflows import fit

        cfg = idiff_config("fit", f"task={name}", *overrides)
        cfg.data.mixture = {name: 1.0}
        return fit(cfg, _idiff_state.root / "runs" / "fit" / "tiny", registry=_idiff_state.registry)

    return fit_tiny


@pytest.fixture
def idiff_test_tiny(
    _idiff_state: _TestState, idiff_config: Callable[..., DictConfig]
) -> Callable[..., dict[str, float]]:
    """Run ``idiff test`` for task ``name`` with a checkpoint (default: the newest of this test's fits).

    Returns the metrics; ``metrics.json``, ``grid.png`` and the task's files are in ``tmp_path / "runs" / "test" /
    "tiny"``.
    """

    def test_tiny(name: str, *overrides: str, ckpt: str | Path = "latest") -> dict[str, float]:
        from idiff.workflows import evaluate

        cfg = idiff_config("test", f"task={name}", f"ckpt={ckpt}", *overrides)
        return evaluate(cfg, _idiff_state.root / "runs" / "test" / "tiny", "test", registry=_idiff_state.registry)

    return test_tiny


@pytest.fixture(scope="session")
def idiff_tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random CLIP folder (:func:`idiff.testing.tiny_clip.write_tiny_clip`), shared by the session's tests."""
    from idiff.testing.tiny_clip import write_tiny_clip

    return write_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture
def alignment_candidates(tmp_path) -> Path:
    """``candidates.jsonl`` of 3 images with 20 candidate PNGs each, in the format of ``idiff align generate``."""
    from idiff.testing.alignment import write_candidates

    return write_candidates(tmp_path / "align", images=3)
