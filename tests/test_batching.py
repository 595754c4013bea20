"""The paper's global batch of 3072 on any number of devices: per-device batch x devices x nodes x accumulation."""

from __future__ import annotations

import pytest

from idiff.batching import accumulation, describe_batch, device_count, per_device_batch
from idiff.cli import compose_config, main
from idiff.errors import ConfigError

PAPER = ["experiment=paper", "model.pretrained_path=/models/sd15"]


@pytest.mark.parametrize(
    ("devices", "nodes", "batch", "steps"),
    [(1, 1, 64, 48), (8, 1, 64, 6), (64, 1, 48, 1), (8, 8, 48, 1), (8, 6, 64, 1), (6, 1, 64, 8), (4, 2, 64, 6)],
)
def test_paper_recipe_reaches_3072_on_any_device_count(devices, nodes, batch, steps):
    cfg = compose_config("fit", [*PAPER, f"trainer.devices={devices}", f"trainer.num_nodes={nodes}"])
    assert (cfg.data.batch_size, cfg.trainer.accumulate_grad_batches) == (batch, steps)
    assert cfg.data.batch_size <= cfg.data.max_batch_size_per_device
    assert cfg.data.batch_size * devices * nodes * cfg.trainer.accumulate_grad_batches == 3072
    assert describe_batch(cfg).endswith(f"{steps} accumulation = 3072 samples per optimizer step")


def test_the_recipe_holds_the_papers_numbers():
    cfg = compose_config("fit", PAPER)
    assert (cfg.model.name, cfg.model.resolution, cfg.stage.name) == ("sd15", 256, "task_specific")
    assert cfg.stage.optimizer._target_ == "torch.optim.AdamW"
    assert (cfg.stage.optimizer.lr, cfg.stage.optimizer.weight_decay, cfg.stage.ema_decay) == (1e-4, 0.01, 0.9999)
    assert (cfg.stage.lr_scheduler.name, cfg.stage.lr_scheduler.warmup_steps) == ("constant", 0)  # the paper's
    assert cfg.trainer.precision == "bf16-mixed" and cfg.stage.gradient_checkpointing
    aligned = compose_config("fit", [*PAPER, "stage=human_alignment"])  # a stage keeps its own EMA
    assert aligned.stage.ema_decay == 0.99 and aligned.data.batch_size * aligned.trainer.accumulate_grad_batches == 3072


def test_an_explicit_per_device_batch_changes_the_accumulation_not_the_global_batch():
    cfg = compose_config("fit", [*PAPER, "trainer.devices=8", "data.batch_size=16"])
    assert cfg.trainer.accumulate_grad_batches == 24


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.devices=5"], "data.global_batch_size=3072 cannot be split evenly over 5 processes"),
        (["trainer.devices=8", "data.batch_size=40"], "not a multiple of data.batch_size=40 x 8 processes"),
        (["trainer.devices=8", "trainer.accumulate_grad_batches=2"], "= 1024, but data.global_batch_size=3072"),
    ],
)
def test_a_global_batch_that_cannot_be_met_is_one_line(overrides, message):
    with pytest.raises(ConfigError, match=message):
        describe_batch(compose_config("fit", [*PAPER, *overrides]))


def test_fit_refuses_an_unreachable_global_batch_before_loading_anything(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["fit", *PAPER, "trainer.devices=7"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("idiff: error: ")]
    assert line.startswith("idiff: error: data.global_batch_size=3072 cannot be split evenly over 7 processes")


def test_device_counts():
    assert [device_count(d) for d in (1, "4", [0, 2], "0,1,3")] == [1, 4, 2, 3]
    assert per_device_batch(3072, 64, 48) == 64 and accumulation(3072, 64, 48) == 1
    with pytest.raises(ConfigError, match="trainer.devices=0"):
        device_count(0)
