"""The per-step weight updates of the embedded default: AdamW variants and EMA implementations, side by side.

On the UNet of conf/model/tiny.yaml (4.3 M parameters, random gradients), each variant runs ``--repeats`` times;
CPU time (process time, all threads) and wall time per update are printed as medians. CPU time is the figure to
compare when other jobs share the machine.

    python bench/update_step.py --repeats 30

Results: BENCHMARKS.md ("Weight updates").
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from diffusers import UNet2DConditionModel
from diffusers.training_utils import EMAModel

from idiff.diffusion.ema import LerpEMA


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return 1000 * statistics.median(cpu), 1000 * statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=96,
        out_channels=48,
        cross_attention_dim=64,
        block_out_channels=[64, 128],
        layers_per_block=1,
        down_block_types=["CrossAttnDownBlock2D"] * 2,
        up_block_types=["CrossAttnUpBlock2D"] * 2,
        attention_head_dim=8,
    )
    params = list(unet.parameters())
    for p in params:
        p.grad = torch.randn_like(p)
    print(f"{sum(p.numel() for p in params) / 1e6:.2f} M parameters, {torch.get_num_threads()} threads")
    print("| update | CPU ms | wall ms |\n|---|---|---|")
    for name, kwargs in (("AdamW (default: foreach)", {}), ("AdamW fused=True", {"fused": True})):
        optimizer = torch.optim.AdamW(params, lr=1e-3, **kwargs)
        print("| {} | {:.1f} | {:.1f} |".format(name, *timed(optimizer.step, args.repeats)))
    for name, ema in (
        ("diffusers EMAModel", EMAModel(params, decay=0.999)),
        ("diffusers EMAModel foreach=True", EMAModel(params, decay=0.999, foreach=True)),
        ("idiff LerpEMA", LerpEMA(params, decay=0.999)),
    ):
        print("| {} | {:.1f} | {:.1f} |".format(name, *timed(lambda e=ema: e.step(params), args.repeats)))


if __name__ == "__main__":
    main()
