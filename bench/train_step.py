"""Training throughput: idiff's LightningModule + Trainer against a plain loop in diffusers' example style.

The plain loop is written here, after ``examples/instruct_pix2pix/train_instruct_pix2pix.py`` of diffusers:
encode the edited image, sample noise and timesteps, encode the instruction and the original image, drop
conditions, concatenate, predict, MSE, backward, clip the gradient norm to 1, AdamW step, EMA step. It drives the
*same* components (UNet, codec, tokenizer, text encoder, noise scheduler) built from the same config, on the same
in-memory batches, so only the training machinery differs: ours is the LightningModule as configured (with the
embedded default: fused AdamW and idiff's one-kernel EMA), the plain loop uses torch's default AdamW and diffusers'
EMAModel, as the example does. Runs alternate, who goes first changing from repeat to repeat (ours, plain, plain,
ours, ...); each reports samples/s over its steps after ``--warmup``; the table gives medians, their ratio ours /
plain, and the median of the per-repeat ratios (``paired``, bench/_pairs.py: drift in the machine's speed cancels).

    python bench/train_step.py --steps 30 --repeats 3                  # the embedded default's model, batch 16
    python bench/train_step.py --steps 30 stage.train_text_encoder=false
    python bench/train_step.py --steps 60 --warmup 10 model.compile=true   # ours compiled; the plain loop: eager
    python bench/train_step.py --accelerator gpu --shape sd15 --batch 64 --steps 20   # SD-1.5 sizes, 256 px, bf16

On a GPU both sides run in bf16 (Lightning's ``bf16-mixed``; ``torch.autocast`` in the plain loop, as the
example's ``--mixed_precision=bf16``), and the table adds each side's peak GPU memory and the model FLOPs
utilisation: the FLOPs of one training step, counted by ``torch.utils.flop_counter`` (matrix products and
convolutions, forward and backward), times steps/s, over ``--peak-tflops`` (the H100 SXM's dense bf16 989).
It also projects the paper's stage-2 recipe (PAPER.md: ~62k steps at batch 3072) onto ``--project-gpus`` GPUs at
the measured per-GPU rate, assuming linear scaling.

Trailing arguments are Hydra overrides of the ``fit`` config. Results: BENCHMARKS.md ("Training step").
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from contextlib import nullcontext

import lightning as L
import torch
import torch.nn.functional as F
from _pairs import in_turn, paired_ratio  # bench/ is the script's directory
from _shapes import SHAPES, unet_options
from diffusers.training_utils import EMAModel
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode

from idiff.cli import compose_config
from idiff.module import DiffusionModule

INSTRUCTIONS = [
    "Circle the nose of the people with the color red.",
    "Put a blue dot on the left wrist of the person, draw a green circle on the right knee of the people.",
    "Fill the region of the small red square with the color cyan.",
    "Mark the sky in this picture with a yellow mask.",
]


class Batches(Dataset):
    """``n`` fixed batches of random images (already collated: the DataLoader is given batch_size=None)."""

    def __init__(self, n: int, batch: int, size: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.items = [
            {
                "source": torch.rand(batch, 3, size, size, generator=g) * 2 - 1,
                "target": torch.rand(batch, 3, size, size, generator=g) * 2 - 1,
                "instruction": [INSTRUCTIONS[(i + k) % len(INSTRUCTIONS)] for k in range(batch)],
            }
            for i in range(n)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def now(device: torch.device) -> float:
    """Wall time after the device's queued work has finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


class StepTimes(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.times.append(now(pl_module.device))


def samples_per_second(times: list[float], warmup: int, batch: int) -> float:
    steps = times[warmup:]
    return batch * (len(steps) - 1) / (steps[-1] - steps[0])


def run_ours(
    config: dict, data: Batches, steps: int, warmup: int, batch: int, device: torch.device, precision: str | None = None
) -> float:
    """Samples/s of idiff's module under a Trainer; ``precision`` None: bf16-mixed on a GPU, 32-true on the CPU."""
    torch.manual_seed(0)
    module = DiffusionModule(config["model"], config["stage"], config["sampler"])
    timer = StepTimes()
    trainer = L.Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        precision=precision or ("bf16-mixed" if device.type == "cuda" else "32-true"),
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        gradient_clip_val=1.0,
        callbacks=[timer],
    )
    trainer.fit(module, DataLoader(data, batch_size=None, shuffle=False))
    return samples_per_second(timer.times, warmup, batch)


def run_plain(
    config: dict, data: Batches, steps: int, warmup: int, batch: int, device: torch.device, flops: list | None = None
) -> float:
    """The diffusers example's loop over the same components; counts one step's FLOPs into ``flops`` if given."""
    torch.manual_seed(0)
    plain = {**config["model"], "channels_last": False, "compile": False}  # ours only; the example runs eager
    module = DiffusionModule(plain, config["stage"], config["sampler"]).to(device)
    unet, tokenizer, text_encoder, stage = module.unet, module.tokenizer, module.text_encoder, config["stage"]
    train_text = bool(stage.get("train_text_encoder"))
    params = list(unet.parameters()) + (list(text_encoder.parameters()) if train_text else [])
    optimizer = torch.optim.AdamW(params, lr=stage["optimizer"]["lr"], weight_decay=stage["optimizer"]["weight_decay"])
    ema = EMAModel(unet.parameters(), decay=stage["ema_decay"])
    unet.train()
    p_drop = stage["dropout"]["text_only"]
    null_ids = tokenizer([""], padding="max_length", max_length=tokenizer.model_max_length, return_tensors="pt")
    null_ids = null_ids.input_ids.to(device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    times = []
    for step in range(steps):
        b = data[step % len(data)]
        counter = FlopCounterMode(display=False) if flops is not None and step == warmup else nullcontext()
        with counter:
            with autocast:
                loss = plain_step(module, b, batch, p_drop, null_ids, device)
            loss.backward()
        if isinstance(counter, FlopCounterMode):
            flops.append(counter.get_total_flops())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        ema.step(unet.parameters())
        times.append(now(device))
    return samples_per_second(times, warmup, batch)


def plain_step(module, b: dict, batch: int, p_drop: float, null_ids: torch.Tensor, device: torch.device):
    """The forward half of the diffusers example's training step: the loss of one batch."""
    codec, tokenizer, text_encoder = module.codec, module.tokenizer, module.text_encoder
    unet, scheduler = module.unet, module.noise_scheduler
    source, target = b["source"].to(device, non_blocking=True), b["target"].to(device, non_blocking=True)
    latents = codec.encode_target(target)
    original = codec.encode_source(source)
    latents = module.to_diffused(latents, original)
    noise = torch.randn_like(latents)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (batch,), device=device)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    ids = tokenizer(
        b["instruction"],
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids.to(device)
    text = text_encoder(ids)[0]
    null = text_encoder(null_ids)[0]
    random_p = torch.rand(batch, device=device)  # the example's conditioning dropout, verbatim in structure
    prompt_mask = (random_p < 2 * p_drop)[:, None, None]
    text = torch.where(prompt_mask, null, text)
    image_mask = 1 - ((random_p >= p_drop) & (random_p < 3 * p_drop)).to(original.dtype)
    original = original * image_mask[:, None, None, None]
    prediction = unet(torch.cat([noisy, original], 1), timesteps, text).sample
    match scheduler.config.prediction_type:
        case "sample":
            objective = latents
        case "v_prediction":
            objective = scheduler.get_velocity(latents, noise, timesteps)
        case _:
            objective = noise
    return F.mse_loss(prediction.float(), objective.float(), reduction="mean")


def peak_memory(device: torch.device) -> float:
    """Peak GPU memory allocated since the last reset, in GiB (0 on the CPU)."""
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--accelerator", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="config", help="config: the composed model")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="the GPU's dense bf16 peak (H100 SXM)")
    parser.add_argument("--project-gpus", type=int, default=8)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    cfg = compose_config("fit", [f"data.batch_size={args.batch}", *SHAPES[args.shape], *args.overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    if config["stage"].get("snr_gamma"):
        config["stage"]["snr_gamma"] = None  # the example has no min-SNR weighting: compare the same loss
    config["model"]["preconditioning"] = None  # nor EDM's scaling (a few elementwise products per step)
    device = torch.device("cuda" if args.accelerator == "gpu" else "cpu")
    data = Batches(8, args.batch, config["model"]["resolution"])
    ours, plain, memory, flops = [], [], {"ours": 0.0, "plain": 0.0}, []
    sides = [("ours", run_ours, ours), ("plain", run_plain, plain)]
    for r in range(args.repeats):
        for name, run, results in in_turn(sides, r):  # ours first in even repeats, the plain loop in odd ones
            gc.collect()  # the last run's module, optimizer and trainer (reference cycles) must not count here
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
            extra = {"flops": flops} if name == "plain" and not flops and args.steps > args.warmup else {}
            results.append(run(config, data, args.steps, args.warmup, args.batch, device, **extra))
            memory[name] = max(memory[name], peak_memory(device))
        print(f"repeat {r}: ours {ours[-1]:.1f} samples/s, plain loop {plain[-1]:.1f} samples/s", flush=True)
    mo, mp = statistics.median(ours), statistics.median(plain)
    paired = paired_ratio(ours, plain)
    name, threads = config["model"]["name"], torch.get_num_threads()
    label = {"sd15": "SD-1.5-sized, random weights"}.get(args.shape, name)
    print("| model | batch | device | ours runs | ours samples/s | plain samples/s | ours / plain | paired |")
    print("|---|---|---|---|---|---|---|---|")
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {threads} threads"
    runs = unet_options(config["model"])
    print(f"| {label} | {args.batch} | {where} | {runs} | {mo:.3g} | {mp:.3g} | {mo / mp:.2f} | {paired:.2f} |")
    per_sample = flops[0] / args.batch
    print(f"training FLOPs per sample (counted, forward + backward): {per_sample / 1e12:.3f} TFLOP")
    if device.type == "cuda":
        for side, rate in (("ours", mo), ("plain", mp)):
            achieved = per_sample * rate / 1e12
            print(
                f"{side}: {achieved:.0f} TFLOP/s, MFU {achieved / args.peak_tflops:.1%} of {args.peak_tflops:.0f}, "
                f"peak memory {memory[side]:.1f} GiB"
            )
        samples = 62_000 * 3072
        hours = samples / (mo * args.project_gpus) / 3600
        print(
            f"paper stage 2 (62k steps x 3072 = {samples / 1e6:.0f} M samples) on {args.project_gpus} such GPUs at "
            f"{mo:.1f} samples/s each: {hours:.1f} h ({hours / 24:.1f} days), linear scaling assumed"
        )


if __name__ == "__main__":
    main()
