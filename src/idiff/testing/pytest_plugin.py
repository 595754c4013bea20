"""pytest plugin (entry point ``pytest11``): fixtures that give task authors a tiny model config for free."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

TINY_OVERRIDES = [
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


@pytest.fixture
def idiff_config(tmp_path) -> Callable[..., DictConfig]:
    """Compose an idiff config with a tiny model, data and runs under ``tmp_path``: ``idiff_config("fit", ...)``."""
    from idiff.cli import compose_config

    def make(verb: str = "fit", *overrides: str) -> DictConfig:
        base = [*TINY_OVERRIDES, f"paths.runs_dir={tmp_path / 'runs'}", f"paths.data_dir={tmp_path / 'data'}"]
        return compose_config(verb, [*base, *overrides])

    return make


@pytest.fixture
def alignment_candidates(tmp_path) -> Path:
    """``candidates.jsonl`` of 3 images with 20 candidate PNGs each, in the format of ``idiff align generate``."""
    from idiff.testing.alignment import write_candidates

    return write_candidates(tmp_path / "align", images=3)
