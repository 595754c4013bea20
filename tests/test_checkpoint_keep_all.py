"""``checkpoint.keep_all``: fit keeps each periodic checkpoint beside ``last.ckpt`` (for bench/quality_curve.py)."""

from __future__ import annotations

import pytest
import torch

SMALL = ("task.synthetic_train_images=4", "task.synthetic_val_images=2", "checkpoint.every_n_train_steps=2",
         "trainer.max_steps=4")


@pytest.mark.parametrize(("keep_all", "steps"), [("true", [2, 4]), ("false", [])])
def test_keep_all_keeps_each_periodic_checkpoint(idiff_fit_tiny, keep_all, steps):
    last = idiff_fit_tiny("keypoints", *SMALL, f"checkpoint.keep_all={keep_all}")
    kept = sorted(last.parent.glob("step-*.ckpt"))
    assert [torch.load(p, map_location="cpu", weights_only=True)["global_step"] for p in kept] == steps
    assert [p.name for p in kept] == [f"step-{s}.ckpt" for s in steps]
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 4
