"""How fast the model learns one restoration task's clean estimate (docs/architecture.md, "Restoration in the default").

A fresh ``DiffusionModule`` (the ``fit`` config plus overrides) trains on one task alone with a plain AdamW loop over
``DiffusionModule.diffusion_loss`` (batch 16, the stage's learning rate and weight decay, no EMA), and every
``--every`` steps its raw weights are scored on the task's first ``--requests`` test requests (tiles), against the
identity (output = input): the one-step clean estimate (``sampler.num_steps=1``: x0 from pure noise) and, with
``--samples``, the 20-step sample. ``--regression-only`` zeroes the noisy latent in training and evaluation (a
plain regression from the source, to separate the network from the diffusion objective). Two variants of how the
UNet reads the noisy latent, kept for the measurements in docs/architecture.md: ``--zero-noisy-input`` zeroes the
``conv_in`` weights of the noisy latent at the start; ``--wiener-input V`` feeds the UNet the Wiener estimate of the
diffused latent from the noisy one (``sqrt(a) V / (a V + 1 - a)`` times it, ``a`` = alphas_cumprod at the timestep,
``V`` the diffused latent's variance), so pure noise reaches it as almost zero, in training and sampling.

    python bench/restoration_probe.py --task denoise --steps 200 --every 100
    python bench/restoration_probe.py model.preconditioning=edm model.zero_init_residuals=true stage.snr_gamma=null
    python bench/restoration_probe.py --samples model.output_norm=false model.zero_init_residuals=true

Run from a folder where the task's synthetic data is (or may be written: ``paths.data_dir``). Trailing arguments are
Hydra overrides of the ``fit`` config.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _arguments import parse_known
from idiff_enhancement.metrics import image_quality
from omegaconf import OmegaConf

from idiff.cli import compose_config
from idiff.module import DiffusionModule
from idiff.tasks.factory import build_task


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


def to_uint8(images: torch.Tensor) -> np.ndarray:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def mean_psnr(outputs, targets) -> float:
    return float(np.mean([image_quality(o, t)["PSNR"] for o, t in zip(outputs, targets, strict=True)]))


@torch.no_grad()
def clean_estimate(module: DiffusionModule, sources: torch.Tensor, instructions: list[str]) -> torch.Tensor:
    """x0 of a model trained with the noisy latent zeroed: one UNet call on (zeros, source) at t = 999."""
    source = module.codec.encode_source(sources)
    t = torch.full((len(sources),), module.noise_scheduler.config.num_train_timesteps - 1)
    unet_input = torch.cat([torch.zeros_like(source), source], 1)
    prediction = module.unet(unet_input, t, encoder_hidden_states=module.encode_text(instructions)).sample
    return module.codec.decode(module.from_diffused(prediction, source))


def evaluate(module: DiffusionModule, requests, args: argparse.Namespace) -> dict[str, float]:
    sources, targets = to_tensor([r.source for r in requests]), [r.target for r in requests]
    instructions = [r.instruction for r in requests]
    module.eval()
    scores = {"identity": mean_psnr([r.source for r in requests], targets)}
    if args.regression_only:
        scores["estimate"] = mean_psnr(to_uint8(clean_estimate(module, sources, instructions)), targets)
    else:
        for name, steps in (("estimate", 1), ("sample", 20)) if args.samples else (("estimate", 1),):
            module.hparams["sampler"]["num_steps"] = steps
            images = module.generate(sources, instructions, 1.0, 1.0, torch.Generator().manual_seed(0))
            scores[name] = mean_psnr(to_uint8(images), targets)
    module.train()
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="denoise")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--regression-only", action="store_true")
    parser.add_argument("--samples", action="store_true")
    parser.add_argument("--zero-noisy-input", action="store_true")
    parser.add_argument("--wiener-input", type=float, default=None)
    parser.add_argument("overrides", nargs="*")
    args = parse_known(parser)
    torch.manual_seed(0)
    cfg = compose_config("fit", args.overrides)
    module = DiffusionModule(**{k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")})
    if args.regression_only:
        if module.preconditioning is not None:
            parser.error("--regression-only trains a plain regression: use it with model.preconditioning=null")
        module.noise_scheduler.add_noise = lambda latents, noise, t: torch.zeros_like(latents)
    if args.zero_noisy_input:
        with torch.no_grad():
            module.unet.conv_in.weight[:, : module.codec.latent_channels].zero_()
    if args.wiener_input is not None:
        unet, channels, var = module.unet, module.codec.latent_channels, args.wiener_input
        alphas = module.noise_scheduler.alphas_cumprod
        forward = unet.forward

        def wiener_forward(sample, timestep, *a, **k):
            t = torch.as_tensor(timestep, dtype=torch.float32).reshape(-1)
            lo = t.floor().long().clamp(0, len(alphas) - 1)
            hi = (lo + 1).clamp(max=len(alphas) - 1)
            frac = t - lo
            a_t = (alphas[lo] * (1 - frac) + alphas[hi] * frac).to(sample.dtype)
            gain = (a_t.sqrt() * var / (a_t * var + 1 - a_t))[:, None, None, None]
            sample = torch.cat([sample[:, :channels] * gain, sample[:, channels:]], 1)
            return forward(sample, timestep, *a, **k)

        unet.forward = wiener_forward
    task = build_task(args.task, cfg, resolution=cfg.model.resolution)
    dataset, requests = task.train_dataset(), task.test_requests()[: args.requests]
    stage = cfg.stage.optimizer
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=stage.get("weight_decay", 0.01))
    rng, start = np.random.default_rng(0), time.perf_counter()
    print(f"{args.task}: {len(requests)} test requests; overrides: {' '.join(args.overrides) or '(none)'}")
    columns = ["identity", "estimate"] + (["sample"] if args.samples and not args.regression_only else [])
    print(f"| step | seconds | {' | '.join(columns)} PSNR |")
    for step in range(args.steps + 1):
        if step % args.every == 0:
            scores = evaluate(module, requests, args)
            values = " | ".join(f"{v:.3f}" for v in scores.values())
            print(f"| {step} | {time.perf_counter() - start:.0f} | {values} |", flush=True)
        if step == args.steps:
            break
        indices = rng.integers(len(dataset), size=args.batch)
        samples = [dataset[int(i)] for i in indices]
        draws = torch.as_tensor([int(i) + step * 1_000_003 for i in indices])
        loss = module.diffusion_loss(to_tensor([s.source for s in samples]), to_tensor([s.target for s in samples]),
                                     [s.instruction for s in samples], draws)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


if __name__ == "__main__":
    main()
