"""Training throughput of idiff's module at two precisions, in turns: ``32-true`` against ``bf16-mixed``.

The same LightningModule, Trainer, batches and config as ``bench/train_step.py``'s "ours" side; only
``trainer.precision`` differs. On a CPU with bf16 instructions (AVX512-BF16, AMX) ``bf16-mixed`` runs the UNet's and
text encoder's convolutions, matrix products and attention under ``torch.autocast("cpu", torch.bfloat16)`` while the
weights, the fused AdamW and the EMA stay float32 (the module clips the gradients itself so that the fused optimizer
may run: ``DiffusionModule.configure_gradient_clipping``). Runs alternate (bench/_pairs.py); the table gives the
medians and the median of the per-repeat ratios.

    python bench/precision.py --steps 30 --warmup 5 --repeats 4                          # the embedded default
    python bench/precision.py --steps 30 --warmup 5 --repeats 4 model.unet.attention_head_dim=8   # the reference's

Trailing arguments are Hydra overrides of the ``fit`` config. Results: BENCHMARKS.md ("bf16 on the CPU").
"""

from __future__ import annotations

import argparse
import gc
import statistics

import torch
from _pairs import in_turn, paired_ratio  # bench/ is the script's directory
from omegaconf import OmegaConf
from train_step import Batches, run_ours

from idiff.cli import compose_config

PRECISIONS = ("32-true", "bf16-mixed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--accelerator", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    cfg = compose_config("fit", [f"data.batch_size={args.batch}", *args.overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    device = torch.device("cuda" if args.accelerator == "gpu" else "cpu")
    data = Batches(8, args.batch, config["model"]["resolution"])
    rates: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for r in range(args.repeats):
        for precision in in_turn(PRECISIONS, r):
            gc.collect()
            rates[precision].append(run_ours(config, data, args.steps, args.warmup, args.batch, device, precision))
        print(f"repeat {r}: " + ", ".join(f"{p} {rates[p][-1]:.1f} samples/s" for p in PRECISIONS), flush=True)
    full, half = (statistics.median(rates[p]) for p in PRECISIONS)
    heads = config["model"].get("unet", {}).get("attention_head_dim")
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print("| model | heads | batch | device | 32-true samples/s | bf16-mixed samples/s | bf16 / 32 | paired |")
    print("|---|---|---|---|---|---|---|---|")
    paired = paired_ratio(rates["bf16-mixed"], rates["32-true"])
    print(f"| {config['model']['name']} | {heads} | {args.batch} | {where} | {full:.3g} | {half:.3g} | "
          f"{half / full:.2f} | {paired:.2f} |")


if __name__ == "__main__":
    main()
