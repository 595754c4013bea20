"""Which codec should the embedded default use? Training-step throughput and reconstruction quality, side by side.

Run: python bench/codec_choice.py [--steps 20]. Results go to BENCHMARKS.md ("Choosing the codec").
Compares the exact space-to-depth codec (factor 2 and 4) with a small diffusers AutoencoderKL at 64 px, each
driving a UNet sized as in conf/model/tiny.yaml, batch 16, on the CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from omegaconf import OmegaConf

from idiff.cli import compose_config
from idiff.module import DiffusionModule

VAE_KWARGS = {
    "block_out_channels": [32, 64, 64], "latent_channels": 4, "norm_num_groups": 32,
    "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3,
}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) / 2).pow(2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def measure(codec: dict, steps: int, batch: int) -> dict:
    cfg = compose_config("fit", [])
    model = OmegaConf.to_container(cfg.model, resolve=True)
    model["codec"] = codec
    module = DiffusionModule(model, OmegaConf.to_container(cfg.stage), OmegaConf.to_container(cfg.sampler))
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-4)
    images = torch.rand(batch, 3, 64, 64) * 2 - 1
    texts = ["Circle the nose of the people with the color red, "] * batch
    for step in range(steps + 3):
        if step == 3:
            start = time.perf_counter()
        loss = module.diffusion_loss(images, images.flip(-1), texts)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = (time.perf_counter() - start) / steps
    with torch.no_grad():
        recon = module.codec.decode(module.codec.encode_target(images))
    return {"codec": str(codec), "latent": tuple(module.codec.encode_target(images[:1]).shape[1:]),
            "unet_params_M": sum(p.numel() for p in module.unet.parameters()) / 1e6,
            "steps_per_s": 1 / seconds, "recon_psnr_dB": psnr(recon, images)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = [
        measure({"kind": "space_to_depth", "factor": 4}, args.steps, args.batch),
        measure({"kind": "space_to_depth", "factor": 2}, args.steps, args.batch),
        measure({"kind": "autoencoder_kl", **VAE_KWARGS}, args.steps, args.batch),
    ]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, 64 px")
    print(f"{'codec':<70}{'latent':>14}{'UNet M':>8}{'steps/s':>9}{'PSNR':>8}")
    for r in rows:
        print(f"{r['codec']:<70}{str(r['latent']):>14}{r['unet_params_M']:>8.2f}{r['steps_per_s']:>9.2f}"
              f"{r['recon_psnr_dB']:>8.1f}")


if __name__ == "__main__":
    main()
