"""The pytest plugin's fixtures, used on a toy task that is installed nowhere (found through an isolated registry)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra.core.config_store import ConfigStore
from torch.utils.data import Dataset

from idiff.errors import ConfigError, PluginError
from idiff.tasks.api import EditRequest, EditSample, Task, TaskConfig, TaskContext
from idiff.testing.pytest_plugin import isolated_task_configs

COLOURS = {"red": (255, 0, 0), "blue": (0, 0, 255)}


@dataclass
class PaintConfig(TaskConfig):
    """``colour`` to paint the centre square with."""

    colour: str = "red"

    def __post_init__(self) -> None:
        if self.colour not in COLOURS:
            raise ValueError(f"colour must be one of red, blue; got {self.colour!r}")


class PaintTask(Task):
    """Toy task: paint the centre quarter of a noise image in ``colour``; scored by how much of it is painted."""

    Config = PaintConfig

    def __init__(self, config: TaskConfig, context: TaskContext) -> None:
        super().__init__(config, context)
        r = context.resolution
        self.centre = (slice(r // 4, 3 * r // 4), slice(r // 4, 3 * r // 4))
        self.sources = np.random.default_rng(context.seed).integers(0, 256, (4, r, r, 3), dtype=np.uint8)

    def _pair(self, source: np.ndarray) -> tuple[np.ndarray, str]:
        target = source.copy()
        target[self.centre] = COLOURS[self.config.colour]
        return target, f"Paint the centre {self.config.colour}."

    def train_dataset(self) -> Dataset[EditSample]:
        samples = [EditSample(s, *self._pair(s)) for s in self.sources]

        class Samples(Dataset[EditSample]):
            def __len__(self) -> int:
                return len(samples)

            def __getitem__(self, i: int) -> EditSample:
                return samples[i]

        return Samples()

    def test_requests(self) -> list[EditRequest]:
        return [EditRequest(s, self._pair(s)[1], target=self._pair(s)[0]) for s in self.sources[:2]]

    def decode(self, generated: np.ndarray, request: EditRequest) -> float:
        colour = np.asarray(COLOURS[self.config.colour])
        return float((np.abs(generated[self.centre].astype(int) - colour).max(-1) < 40).mean())

    def evaluate(self, requests: list[EditRequest], predictions: list[Any], out_dir: Path) -> dict[str, float]:
        return {"painted": float(np.mean(predictions))}


def test_an_isolated_registry_holds_only_the_given_tasks(idiff_isolated_registry, idiff_task, tmp_path) -> None:
    registry = idiff_isolated_registry(paint=PaintTask, keypoints_again="idiff_keypoints.task:KeypointsTask")
    assert registry.names == ["keypoints_again", "paint"]
    task = idiff_task("paint", colour="blue")
    assert isinstance(task, PaintTask) and task.config.colour == "blue"
    assert task.context.resolution == 32 and task.data_dir == tmp_path / "data" / "paint"
    with pytest.raises(PluginError, match="unknown task 'keypoints'; installed tasks: keypoints_again, paint"):
        idiff_task("keypoints")


def test_options_are_checked_as_on_the_command_line(idiff_isolated_registry, idiff_task, idiff_config) -> None:
    idiff_isolated_registry(paint=PaintTask)
    with pytest.raises(ConfigError, match="colour must be one of red, blue; got 'green'"):
        idiff_task("paint", colour="green")
    with pytest.raises(ConfigError, match="task.size"):
        idiff_task("paint", size=3)
    cfg = idiff_config("test", "task=paint", "task.colour=blue")
    assert cfg.task.colour == "blue" and cfg.model.resolution == 32


def test_the_installed_plugins_are_the_default(idiff_task) -> None:
    task = idiff_task("keypoints", resolution=64, max_keypoints_per_instruction=3)
    assert type(task).__name__ == "KeypointsTask" and task.config.max_keypoints_per_instruction == 3


def test_the_mixture_is_built_from_the_isolated_registry(idiff_isolated_registry, idiff_config) -> None:
    from idiff.workflows import mixture_tasks

    registry = idiff_isolated_registry(paint=PaintTask)
    cfg = idiff_config("fit", "task=paint", "task.colour=blue")
    cfg.data.mixture = {"paint": 1.0}
    tasks = mixture_tasks(cfg, registry)
    assert list(tasks) == ["paint"] and tasks["paint"].config.colour == "blue"


def test_task_configs_registered_inside_are_forgotten() -> None:
    repo = ConfigStore.instance().repo
    before = set(repo.get("task", {}))
    with isolated_task_configs():
        ConfigStore.instance().store(group="task", name="paint_scratch", node=PaintConfig)
        assert "paint_scratch.yaml" in repo["task"]
    assert set(repo.get("task", {})) == before


@pytest.mark.slow
def test_fit_and_test_a_task_that_is_installed_nowhere(idiff_isolated_registry, idiff_fit_tiny, idiff_test_tiny,
                                                       tmp_path) -> None:
    idiff_isolated_registry(paint=PaintTask)
    checkpoint = idiff_fit_tiny("paint", "task.colour=blue")
    assert checkpoint == tmp_path / "runs" / "fit" / "tiny" / "checkpoints" / "last.ckpt" and checkpoint.is_file()
    metrics = idiff_test_tiny("paint", "task.colour=blue")
    assert 0.0 <= metrics["painted"] <= 1.0
    assert metrics["identity/painted"] < 0.1  # the noise sources are almost nowhere blue
    assert (tmp_path / "runs" / "test" / "tiny" / "metrics.json").is_file()


def test_contract_helpers_fail_on_a_broken_contract() -> None:
    from idiff.testing.contract import assert_entry_points, assert_imports_without_lightning

    with pytest.raises(AssertionError, match="loaded \\['lightning'\\]"):
        assert_imports_without_lightning("lightning.pytorch")
    with pytest.raises(AssertionError):
        assert_entry_points("some-other-distribution", {"keypoints": "KeypointsTask"})


def test_public_import_check_names_private_modules() -> None:
    from idiff.testing.contract import assert_public_imports

    assert_public_imports("idiff.quality")  # imports idiff.errors and its own public modules only
    with pytest.raises(AssertionError, match="idiff.prediction imports idiff modules outside the public plugin API: "):
        assert_public_imports("idiff.prediction")
