"""``trainer.precision=bf16-mixed`` with the fused AdamW and gradient clipping (the module clips; Lightning refuses)."""

from __future__ import annotations

import pytest
import torch

SMALL = ("task.synthetic_train_images=4", "task.synthetic_val_images=2", "trainer.max_steps=3")


@pytest.fixture
def clip_calls(monkeypatch):
    """Every ``clip_grad_norm_`` call's max_norm and the total norm it found."""
    calls = []
    clip = torch.nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, *args, **kwargs):
        norm = clip(parameters, max_norm, *args, **kwargs)
        calls.append((max_norm, float(norm)))
        return norm

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    return calls


@pytest.mark.parametrize("precision", ["bf16-mixed", "32-true"])
def test_fused_adamw_trains_and_clips(idiff_fit_tiny, clip_calls, precision):
    last = idiff_fit_tiny("keypoints", *SMALL, f"trainer.precision={precision}", "stage.optimizer.fused=true",
                          "trainer.gradient_clip_val=0.5")
    state = torch.load(last, map_location="cpu", weights_only=False)
    assert state["optimizer_states"][0]["param_groups"][0]["fused"] is True
    assert [max_norm for max_norm, _ in clip_calls] == [0.5] * 3
    assert all(torch.isfinite(torch.tensor(norm)) for _, norm in clip_calls)


def test_no_clipping_asked_none_done(idiff_fit_tiny, clip_calls):
    idiff_fit_tiny("keypoints", *SMALL, "trainer.precision=bf16-mixed", "trainer.gradient_clip_val=null")
    assert clip_calls == []


def test_the_module_clips_the_norm_under_bf16(make_module):
    """The override clips exactly as torch does: the gradients' total norm ends at the limit."""
    from types import SimpleNamespace

    from lightning.pytorch.plugins.precision import MixedPrecision

    module = make_module()
    params = [p for p in module.unet.parameters()][:4]
    for p in params:
        p.grad = torch.full_like(p, 3.0)
    optimizer = torch.optim.AdamW(params, lr=1e-3, fused=True)
    plugin = MixedPrecision("bf16-mixed", "cpu")
    module._trainer = SimpleNamespace(precision_plugin=plugin)  # what configure_gradient_clipping reads
    module.configure_gradient_clipping(optimizer, gradient_clip_val=1.0, gradient_clip_algorithm="norm")
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
    assert float(total) == pytest.approx(1.0, rel=1e-5)
