"""The plugin honours the contract: three tasks found through their entry points, configurable, free of Lightning."""

from __future__ import annotations

import pytest
from idiff.testing.contract import assert_entry_points, assert_imports_without_lightning

TASKS = {"denoise": "DenoiseTask", "deblur": "DeblurTask", "watermark_removal": "WatermarkRemovalTask"}


def test_plugin_does_not_import_lightning() -> None:
    assert_imports_without_lightning(
        "idiff_enhancement.denoise_task", "idiff_enhancement.deblur_task", "idiff_enhancement.watermark_task"
    )


def test_entry_points_give_the_task_classes() -> None:
    assert_entry_points("idiff-enhancement", TASKS)


@pytest.mark.parametrize("name", TASKS)
def test_options_reach_the_task(idiff_config, name: str) -> None:
    cfg = idiff_config("test", f"task={name}", "task.max_test_requests=4", "task.tile_overlap=0.25")
    assert cfg.task.max_test_requests == 4 and cfg.task.tile_overlap == 0.25
    assert (cfg.task.guidance.text, cfg.task.guidance.image) == (1.0, 1.0)


def test_paper_weights_are_the_defaults_and_reach_the_task(idiff_config) -> None:
    from idiff.tasks.factory import build_task

    weights = {"denoise": {"sidd": 20.0}, "deblur": {"gopro": 2.0, "reds": 0.2}, "watermark_removal": {"clwd": 0.2}}
    for name, expected in weights.items():
        assert dict(build_task(name, idiff_config("test", f"task={name}")).config.weights) == expected
    task = build_task("deblur", idiff_config("test", "task=deblur", "task.weights.reds=0", "task.eval_dataset=reds"))
    assert task.config.used_datasets == ["gopro"] and task.eval_dataset == "reds"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.eval_dataset=hide", "eval_dataset must be one of gopro, reds"),
        ("+task.weights.hide=1.0", "weights: unknown dataset 'hide'; known: gopro, reds"),
        ("task.gopro_blur_folder=blurred", "gopro_blur_folder must be blur or blur_gamma"),
        ("task.tile_overlap=1.0", r"tile_overlap must be in \[0, 1\)"),
    ],
)
def test_a_bad_option_names_the_key(idiff_config, override: str, message: str) -> None:
    from idiff.errors import ConfigError
    from idiff.tasks.factory import build_task

    cfg = idiff_config("test", "task=deblur", override)
    with pytest.raises(ConfigError, match=message):
        build_task("deblur", cfg)
