"""``stage.lr_scheduler``: diffusers' schedules stepped per optimizer step, checked against their formulas by hand."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from idiff.diffusion.lr_schedule import build_lr_scheduler, check_lr_scheduler, describe_lr_schedule
from idiff.errors import ConfigError


def _rates(config: dict, total: int, steps: int, base: float = 1.0) -> list[float]:
    """The learning rate before each of ``steps`` optimizer steps."""
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=base)
    entry = build_lr_scheduler(optimizer, config, total)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if entry is not None:
            entry["scheduler"].step()
    return rates


def test_constant_is_no_scheduler():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    assert build_lr_scheduler(optimizer, None, 10) is None
    assert build_lr_scheduler(optimizer, {"name": "constant", "warmup_steps": 0}, float("inf")) is None


def test_linear_warmup_then_decay_by_hand():
    total, warmup = 10, 4
    expected = [k / warmup if k < warmup else (total - k) / (total - warmup) for k in range(total)]
    assert _rates({"name": "linear", "warmup_steps": warmup}, total, total) == pytest.approx(expected, abs=1e-12)


def test_cosine_by_hand():
    total, warmup = 12, 2
    expected = [
        k / warmup if k < warmup else 0.5 * (1.0 + math.cos(math.pi * (k - warmup) / (total - warmup)))
        for k in range(total)
    ]
    assert _rates({"name": "cosine", "warmup_steps": warmup}, total, total, base=3e-4) == pytest.approx(
        [3e-4 * e for e in expected], rel=1e-9, abs=1e-15
    )


def test_constant_with_warmup_by_hand():
    assert _rates({"name": "constant_with_warmup", "warmup_steps": 3}, float("inf"), 6) == pytest.approx(
        [0.0, 1 / 3, 2 / 3, 1.0, 1.0, 1.0]
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"name": "exponential"}, "allowed: linear, cosine"),
        ({"name": "linear", "warm_up": 3}, "stage.lr_scheduler.warm_up: unknown key"),
        ({"name": "linear", "warmup_steps": -1}, "whole number of steps >= 0"),
        ({"name": "linear", "warmup_steps": 2.5}, "whole number of steps >= 0"),
        ({"name": "constant", "warmup_steps": 100}, "use name=constant_with_warmup"),
        ({"name": "piecewise_constant"}, "needs stage.lr_scheduler.step_rules"),
    ],
)
def test_bad_settings_name_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        check_lr_scheduler(config)


def test_fit_says_the_schedule():
    assert describe_lr_schedule(1e-4, None) == "learning rate 0.0001, constant schedule"
    assert describe_lr_schedule(2e-4, {"name": "linear", "warmup_steps": 500}) == (
        "learning rate 0.0002, linear schedule, 500 warm-up steps"
    )


def test_decays_need_the_run_length():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ConfigError, match="set trainer.max_steps"):
        build_lr_scheduler(optimizer, {"name": "cosine"}, float("inf"))
    with pytest.raises(ConfigError, match="not less than the run's 5 optimizer steps"):
        build_lr_scheduler(optimizer, {"name": "linear", "warmup_steps": 5}, 5)


def test_a_bad_schedule_fails_when_the_module_is_built(make_module):
    with pytest.raises(ConfigError, match="stage.lr_scheduler.name='step'"):
        make_module("stage.lr_scheduler.name=step")


SMALL = ("task.synthetic_train_images=4", "task.synthetic_val_images=2", "checkpoint.every_n_train_steps=2",
         "checkpoint.keep_all=true", "trainer.max_steps=5", "stage.optimizer.lr=1e-3", "stage.lr_scheduler.name=linear",
         "stage.lr_scheduler.warmup_steps=2")


def _lr(path) -> tuple[float, float]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    base = state["hyper_parameters"]["stage"]["optimizer"]["lr"]
    return state["optimizer_states"][0]["param_groups"][0]["lr"], base


def test_fit_steps_the_schedule_and_a_resumed_run_continues_it(idiff_fit_tiny, tmp_path, capsys):
    last = idiff_fit_tiny("keypoints", *SMALL)
    assert "fit: learning rate 0.001, linear schedule, 2 warm-up steps" in capsys.readouterr().out
    # linear, warm-up 2 of 5 steps: after k steps the rate is k/2 (k < 2), then (5 - k) / 3 of the base
    after_2, base = _lr(last.parent / "step-2.ckpt")
    after_4, _ = _lr(last.parent / "step-4.ckpt")
    assert (after_2, after_4, _lr(last)[0]) == pytest.approx((base, base / 3, 0.0), abs=1e-12)
    saved = tmp_path / "step-2.ckpt"
    shutil.copy(last.parent / "step-2.ckpt", saved)
    idiff_fit_tiny("keypoints", *SMALL, f"resume={saved}")
    assert _lr(last.parent / "step-4.ckpt")[0] == pytest.approx(after_4, abs=1e-12)
    logged = (last.parent.parent / "logs" / "metrics.csv").read_text()
    assert "lr-linear" in logged.splitlines()[0]


def test_the_default_constant_rate_adds_no_scheduler(idiff_fit_tiny):
    last = idiff_fit_tiny("keypoints", "task.synthetic_train_images=4", "task.synthetic_val_images=2")
    state = torch.load(last, map_location="cpu", weights_only=False)
    assert state["lr_schedulers"] == []
    rate = state["optimizer_states"][0]["param_groups"][0]["lr"]
    assert rate == state["hyper_parameters"]["stage"]["optimizer"]["lr"]


def test_resume_refuses_a_schedule_the_checkpoint_did_not_have(idiff_fit_tiny, tmp_path):
    constant = ("task.synthetic_train_images=4", "task.synthetic_val_images=2", "trainer.max_steps=2")
    last = idiff_fit_tiny("keypoints", *constant)
    saved = tmp_path / "constant.ckpt"
    shutil.copy(last, saved)
    with pytest.raises(ConfigError, match="trained at a constant learning rate.*init_weights="):
        idiff_fit_tiny("keypoints", *SMALL, f"resume={saved}")
    idiff_fit_tiny("keypoints", *SMALL)
    with pytest.raises(ConfigError, match="had a learning-rate schedule; resume it with the same"):
        idiff_fit_tiny("keypoints", *constant[:2], "trainer.max_steps=6", f"resume={last}")
