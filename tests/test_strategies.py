"""Strategies compose with devices, nodes, precision and accumulation; what cannot run is refused in one line."""

from __future__ import annotations

import importlib.util

import pytest

from idiff.cli import compose_config, main
from idiff.errors import ConfigError
from idiff.strategies import check_strategy, strategy_name


@pytest.mark.parametrize("strategy", ["ddp", "fsdp", "deepspeed"])
def test_each_strategy_composes_with_nodes_precision_accumulation_and_checkpointing(strategy):
    cfg = compose_config("fit", [f"strategy={strategy}", "trainer.devices=8", "trainer.num_nodes=4",
                                 "trainer.precision=bf16-mixed", "trainer.accumulate_grad_batches=3",
                                 "stage.gradient_checkpointing=true"])
    assert strategy_name(cfg.trainer.strategy) == strategy
    assert (cfg.trainer.devices, cfg.trainer.num_nodes, cfg.trainer.accumulate_grad_batches) == (8, 4, 3)
    assert cfg.trainer.precision == "bf16-mixed" and cfg.stage.gradient_checkpointing


def test_deepspeed_without_the_package_is_one_line(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepspeed" else real(name, *a))
    with pytest.raises(ConfigError, match=r"strategy=deepspeed needs the deepspeed package \(pip install deepspeed"):
        check_strategy(compose_config("fit", ["strategy=deepspeed"]))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["fit", "strategy=deepspeed"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("idiff: error: ")]
    assert len(errors) == 1 and "needs the deepspeed package" in errors[0]


def test_fsdp_with_an_ema_is_refused_and_without_one_accepted():
    with pytest.raises(ConfigError, match=r"strategy=fsdp shards the UNet's parameters.*stage.ema_decay=null"):
        check_strategy(compose_config("fit", ["strategy=fsdp"]))
    check_strategy(compose_config("fit", ["strategy=fsdp", "stage.ema_decay=null"]))
