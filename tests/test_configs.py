"""Every option of every config group composes; bad keys and values are refused with the key named."""

from __future__ import annotations

from importlib import resources

import hydra.utils
import pytest
from omegaconf import OmegaConf

from idiff.cli import compose_config, main
from idiff.errors import ConfigError
from idiff.tasks.factory import task_config

GROUPS = ("stage", "model", "data", "trainer", "strategy", "sampler", "experiment", "decoder")


def group_options() -> list[tuple[str, str]]:
    conf = resources.files("idiff.conf")
    return [(g, p.name[:-5]) for g in GROUPS for p in conf.joinpath(g).iterdir() if p.name.endswith(".yaml")]


@pytest.mark.parametrize(("group", "option"), group_options())
def test_every_config_option_composes(group, option):
    overrides = [f"{group}={option}"]
    if option == "sd15" or option == "paper":
        overrides.append("model.pretrained_path=/models/sd15")
    cfg = compose_config("fit", overrides)
    OmegaConf.to_container(cfg, resolve=True)
    assert cfg.task_name == "keypoints"


@pytest.mark.parametrize("strategy", ["auto", "ddp"])
def test_trainer_and_strategy_instantiate_on_cpu(strategy):
    cfg = compose_config("fit", [f"strategy={strategy}", "trainer.accelerator=cpu"])
    trainer = hydra.utils.instantiate(cfg.trainer, _convert_="all")
    assert trainer.max_steps == cfg.trainer.max_steps


def test_task_option_override_reaches_the_plugin_config():
    cfg = compose_config("test", ["task=keypoints", "task.max_test_requests=3", "task.guidance.text=2.0"])
    assert cfg.task.max_test_requests == 3
    from idiff_keypoints.task import KeypointsTask

    config = task_config("keypoints", KeypointsTask.Config, cfg.task)
    assert config.guidance.text == 2.0


def test_bad_task_value_names_the_key():
    from idiff_keypoints.task import KeypointsTask

    with pytest.raises(Exception, match="max_test_requests"):
        task_config("keypoints", KeypointsTask.Config, {"max_test_requests": "many"})


@pytest.mark.parametrize("value", ["-1.0", "nan"])
def test_negative_guidance_is_refused_naming_the_key(value):
    from idiff_keypoints.task import KeypointsTask

    with pytest.raises(ConfigError, match=r"task 'keypoints': guidance.text=.*must be >= 0"):
        task_config("keypoints", KeypointsTask.Config, {"guidance": {"text": value}})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "trainer.no_such_key=1"], "no_such_key"),
        (["test", "task=no_such_task"], "unknown task 'no_such_task'; installed tasks:"),
        (["test", "task.max_test_requests=many"], "max_test_requests"),
        (["frobnicate"], "unknown verb 'frobnicate'"),
    ],
)
def test_cli_reports_bad_input_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_data_tasks_options_apply_and_the_command_line_wins():
    from idiff.tasks.factory import build_task

    from_data = ["data.tasks.keypoints.max_keypoints_per_instruction=2", "+data.tasks.keypoints.rotation_prob=0.0"]
    task = build_task("keypoints", compose_config("test", from_data))
    assert task.config.max_keypoints_per_instruction == 2
    task = build_task("keypoints", compose_config("test", [*from_data, "task.max_keypoints_per_instruction=3"]))
    assert task.config.max_keypoints_per_instruction == 3
    assert task.config.rotation_prob == 0.0  # still from data.tasks


def test_the_command_line_wins_also_with_the_plugins_default_value():
    """`task.max_test_requests=0` (the plugin's default: no cap) lifts the embedded experiment's cap of 120, and a
    nested key set to its default keeps its sibling from data.tasks."""
    from idiff.tasks.factory import build_task

    assert build_task("keypoints", compose_config("test", [])).config.max_test_requests == 120
    task = build_task("keypoints", compose_config("test", ["task=keypoints", "task.max_test_requests=0"]))
    assert task.config.max_test_requests == 0
    sibling = ["+data.tasks.keypoints.guidance.image=2.5", "++task.guidance.text=6.0"]
    guidance = build_task("keypoints", compose_config("test", ["task=keypoints", *sibling])).config.guidance
    assert (guidance.text, guidance.image) == (6.0, 2.5)


def test_the_flag_table_is_hydras():
    from hydra._internal.utils import get_args_parser

    from idiff.cli import HYDRA_FLAGS_WITH_VALUE, HYDRA_FLAGS_WITHOUT_VALUE, HYDRA_INFO_CHOICES, HYDRA_INFO_FLAGS

    by_arity = {}
    for action in get_args_parser()._actions:
        by_arity.setdefault(action.nargs, set()).update(action.option_strings)
    assert by_arity[0] == set(HYDRA_FLAGS_WITHOUT_VALUE)
    assert by_arity[None] == set(HYDRA_FLAGS_WITH_VALUE)
    assert by_arity["?"] == set(HYDRA_INFO_FLAGS)
    info = next(a for a in get_args_parser()._actions if a.nargs == "?")
    assert set(info.choices) == set(HYDRA_INFO_CHOICES)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["command=test", "task=x", "-m", "a=1,2"],
         {"multirun": True, "overrides": ["command=test", "task=x", "a=1,2"]}),
        (["command=fit", "~data.mixture", "--cfg", "job", "b=3"],
         {"cfg": "job", "overrides": ["command=fit", "~data.mixture", "b=3"]}),
        (["command=fit", "--info", "b=3"], {"info": "all", "overrides": ["command=fit", "b=3"]}),
        (["command=fit", "-i", "defaults", "-cd=/tmp/conf", "b=3"],
         {"info": "defaults", "config_dir": "/tmp/conf", "overrides": ["command=fit", "b=3"]}),
    ],
)
def test_hydra_flags_anywhere_on_the_command_line_reach_hydra(argv, expected):
    from hydra._internal.utils import get_args_parser

    from idiff.cli import hydra_argv

    parsed = vars(get_args_parser().parse_args(hydra_argv(argv)))  # Hydra's own parser: no "unrecognized arguments"
    assert {key: parsed[key] for key in expected} == expected
