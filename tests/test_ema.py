"""LerpEMA follows diffusers' EMAModel exactly (same decay schedule, same averages, same state dict)."""

from __future__ import annotations

import torch
from diffusers.training_utils import EMAModel

from idiff.diffusion.ema import LerpEMA


def _params() -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(n, generator=g)) for n in (7, 300, 33)]
    params[1].requires_grad_(False)  # frozen weights are copied, not averaged
    return params


def test_lerp_ema_matches_diffusers_ema_model_step_for_step():
    params = _params()
    ours, theirs = LerpEMA(params, decay=0.9), EMAModel(params, decay=0.9)
    g = torch.Generator().manual_seed(1)
    for _ in range(25):
        with torch.no_grad():
            for p in params:
                p.add_(torch.randn(p.shape, generator=g))
        ours.step(params)
        theirs.step(params)
        assert ours.cur_decay_value == theirs.cur_decay_value
        for a, b in zip(ours.shadow_params, theirs.shadow_params, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert ours.optimization_step == theirs.optimization_step == 25
    assert ours.cur_decay_value != 0.9  # still in the (1 + n) / (10 + n) warm-up: the schedule was exercised


def test_lerp_ema_state_dict_loads_into_diffusers_ema_model():
    params = _params()
    ours = LerpEMA(params, decay=0.99)
    for _ in range(3):
        ours.step(params)
    theirs = EMAModel(_params(), decay=0.5)
    theirs.load_state_dict(ours.state_dict())
    assert theirs.decay == 0.99 and theirs.optimization_step == 3
    for a, b in zip(ours.shadow_params, theirs.shadow_params, strict=True):
        torch.testing.assert_close(a, b)
