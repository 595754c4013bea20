"""Training throughput: idiff's LightningModule + Trainer against a plain loop in diffusers' example style.

The plain loop is written here, after ``examples/instruct_pix2pix/train_instruct_pix2pix.py`` of diffusers:
encode the edited image, sample noise and timesteps, encode the instruction and the original image, drop
conditions, concatenate, predict, MSE, backward, clip the gradient norm to 1, AdamW step, EMA step. It drives the
*same* components (UNet, codec, tokenizer, text encoder, noise scheduler) built from the same config, on the same
in-memory batches, so only the training machinery differs: ours is the LightningModule as configured (with the
embedded default: fused AdamW and idiff's one-kernel EMA), the plain loop uses torch's default AdamW and diffusers'
EMAModel, as the example does. Runs alternate (ours, plain, ours, plain, ...) and
each reports samples/s over its steps after ``--warmup``; the table gives medians and the ratio ours / plain.

    python bench/train_step.py --steps 30 --repeats 3                  # the embedded default's model, batch 16
    python bench/train_step.py --steps 30 stage.train_text_encoder=false

Trailing arguments are Hydra overrides of the ``fit`` config. Results: BENCHMARKS.md ("Training step").
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning as L
import torch
import torch.nn.functional as F
from diffusers.training_utils import EMAModel
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, Dataset

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


class StepTimes(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.times.append(time.perf_counter())


def samples_per_second(times: list[float], warmup: int, batch: int) -> float:
    steps = times[warmup:]
    return batch * (len(steps) - 1) / (steps[-1] - steps[0])


def run_ours(config: dict, data: Batches, steps: int, warmup: int, batch: int) -> float:
    torch.manual_seed(0)
    module = DiffusionModule(config["model"], config["stage"], config["sampler"])
    timer = StepTimes()
    trainer = L.Trainer(
        accelerator="cpu",
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


def run_plain(config: dict, data: Batches, steps: int, warmup: int, batch: int) -> float:
    """The diffusers example's loop over the same components."""
    torch.manual_seed(0)
    module = DiffusionModule(config["model"], config["stage"], config["sampler"])
    unet, codec, tokenizer, text_encoder = module.unet, module.codec, module.tokenizer, module.text_encoder
    scheduler, stage = module.noise_scheduler, config["stage"]
    train_text = bool(stage.get("train_text_encoder"))
    params = list(unet.parameters()) + (list(text_encoder.parameters()) if train_text else [])
    optimizer = torch.optim.AdamW(params, lr=stage["optimizer"]["lr"], weight_decay=stage["optimizer"]["weight_decay"])
    ema = EMAModel(unet.parameters(), decay=stage["ema_decay"])
    unet.train()
    p_drop = stage["dropout"]["text_only"]
    null_ids = tokenizer([""], padding="max_length", max_length=tokenizer.model_max_length, return_tensors="pt")
    times = []
    for step in range(steps):
        b = data[step % len(data)]
        latents = codec.encode_target(b["target"])
        original = codec.encode_source(b["source"])
        if module.residual:
            latents = latents - original * codec.scaling_factor
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (batch,))
        noisy = scheduler.add_noise(latents, noise, timesteps)
        ids = tokenizer(
            b["instruction"],
            padding="max_length",
            max_length=tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids
        text = text_encoder(ids)[0]
        null = text_encoder(null_ids.input_ids)[0]
        random_p = torch.rand(batch)  # the example's conditioning dropout, verbatim in structure
        prompt_mask = (random_p < 2 * p_drop)[:, None, None]
        text = torch.where(prompt_mask, null, text)
        image_mask = 1 - ((random_p >= p_drop) & (random_p < 3 * p_drop)).float()
        original = original * image_mask[:, None, None, None]
        prediction = unet(torch.cat([noisy, original], 1), timesteps, text).sample
        match scheduler.config.prediction_type:
            case "sample":
                target = latents
            case "v_prediction":
                target = scheduler.get_velocity(latents, noise, timesteps)
            case _:
                target = noise
        loss = F.mse_loss(prediction.float(), target.float(), reduction="mean")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        ema.step(unet.parameters())
        times.append(time.perf_counter())
    return samples_per_second(times, warmup, batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    cfg = compose_config("fit", [f"data.batch_size={args.batch}", *args.overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    if config["stage"].get("snr_gamma"):
        config["stage"]["snr_gamma"] = None  # the example has no min-SNR weighting: compare the same loss
    data = Batches(8, args.batch, config["model"]["resolution"])
    ours, plain = [], []
    for r in range(args.repeats):
        ours.append(run_ours(config, data, args.steps, args.warmup, args.batch))
        plain.append(run_plain(config, data, args.steps, args.warmup, args.batch))
        print(f"repeat {r}: ours {ours[-1]:.1f} samples/s, plain loop {plain[-1]:.1f} samples/s", flush=True)
    mo, mp = statistics.median(ours), statistics.median(plain)
    name, threads = config["model"]["name"], torch.get_num_threads()
    print(f"| {name} | {args.batch} | {threads} | {mo:.1f} | {mp:.1f} | {mo / mp:.2f} |")


if __name__ == "__main__":
    main()
