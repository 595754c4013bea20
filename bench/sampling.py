"""Sampling time per image: idiff's ``DiffusionModule.generate`` against diffusers' InstructPix2Pix pipeline.

Both get the same components (a copy each: UNet, AutoencoderKL, CLIP text encoder and tokenizer, Euler ancestral
scheduler), the same steps, batch, guidance scales, seed and the InstructPix2Pix guidance formula, so they must
produce the same images (the largest pixel difference is printed; tests/test_sampler.py asserts it). Runs
alternate, who goes first changing from repeat to repeat (ours, pipeline, pipeline, ours, ...); the table gives the
median seconds per image, their ratio ours / pipeline and the median of the per-repeat ratios (``paired``,
bench/_pairs.py).

    python bench/sampling.py --batch 8 --steps 20 --repeats 3
    python bench/sampling.py --repeats 3 model.channels_last=true model.compile=true   # ours only; the pipeline: eager
    python bench/sampling.py --accelerator gpu --shape sd15 --dtype bfloat16 --batch 8   # SD-1.5 sizes, 256 px

Trailing arguments are Hydra overrides of the model (default: the tiny UNet of conf/model/tiny.yaml over a small
random AutoencoderKL at 64 px); ``model.channels_last`` and ``model.compile`` apply to ours only, the pipeline gets
the same weights run as diffusers runs them. Results: BENCHMARKS.md ("Sampling").
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _pairs import in_turn, paired_ratio  # bench/ is the script's directory
from _shapes import SHAPES, unet_options
from diffusers import StableDiffusionInstructPix2PixPipeline
from omegaconf import OmegaConf

from idiff.cli import compose_config
from idiff.diffusion.sampler import build_inference_scheduler
from idiff.module import DiffusionModule

SMALL_VAE = [
    "model.codec.kind=autoencoder_kl",
    "+model.codec.block_out_channels=[32,64,64]",
    "+model.codec.latent_channels=4",
    "+model.codec.norm_num_groups=32",
    "+model.codec.down_block_types=[DownEncoderBlock2D,DownEncoderBlock2D,DownEncoderBlock2D]",
    "+model.codec.up_block_types=[UpDecoderBlock2D,UpDecoderBlock2D,UpDecoderBlock2D]",
    "model.residual=false",
    "model.noise_schedule.prediction_type=epsilon",
    "model.preconditioning=null",
    "model.zero_init_residuals=false",
    "model.mask_padding=false",  # the pipeline attends to all 77 positions, as SD was trained
    "sampler.formula=instruct_pix2pix",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--text-scale", type=float, default=7.5)
    parser.add_argument("--image-scale", type=float, default=1.5)
    parser.add_argument("--accelerator", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--shape", choices=["small_vae", *sorted(SHAPES)], default="small_vae")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    shape = SMALL_VAE if args.shape == "small_vae" else [*SHAPES[args.shape], "sampler.formula=instruct_pix2pix"]
    cfg = compose_config("fit", [*shape, f"sampler.num_steps={args.steps}", *args.overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    device, dtype = torch.device("cuda" if args.accelerator == "gpu" else "cpu"), getattr(torch, args.dtype)
    module = DiffusionModule(config["model"], config["stage"], config["sampler"]).eval().to(device, dtype)
    # the pipeline's components: the same weights, without our model.channels_last / model.compile
    plain = {**config["model"], "channels_last": False, "compile": False}
    reference = DiffusionModule(plain, config["stage"], config["sampler"]).eval().to(device, dtype)
    reference.load_state_dict(module.state_dict())  # the random codec and text encoder are not seeded
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=reference.codec.vae,
        text_encoder=reference.text_encoder,
        tokenizer=reference.tokenizer,
        unet=reference.unet,
        scheduler=build_inference_scheduler(module.hparams["sampler"]["scheduler"], module.noise_scheduler.config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    size = config["model"]["resolution"]
    images = torch.rand(args.batch, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    images = images.to(device, dtype)
    prompts = [f"Circle the nose of the people with the color red, number {k}." for k in range(args.batch)]

    def ours() -> torch.Tensor:
        out = module.generate(images, prompts, args.text_scale, args.image_scale, torch.Generator().manual_seed(42))
        return (out / 2 + 0.5).clamp(0, 1)

    def theirs() -> torch.Tensor:
        return pipe(
            prompts,
            image=images,
            num_inference_steps=args.steps,
            guidance_scale=args.text_scale,
            image_guidance_scale=args.image_scale,
            generator=torch.Generator().manual_seed(42),
            output_type="pt",
        ).images

    def seconds(fn) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    start = time.perf_counter()
    difference = float((ours().float() - theirs().float()).abs().max())  # compiles ours with model.compile=true
    print(f"first calls (with any compiling): {time.perf_counter() - start:.1f} s")
    if difference > 1e-3:  # eager: 0.0; compiled: float rounding (~5e-6)
        raise SystemExit(f"ours and the pipeline differ by {difference:.3g} (0..1 scale): not the same sampling")
    times: dict[str, list[float]] = {"ours": [], "pipeline": []}
    for r in range(args.repeats):
        for name, fn in in_turn((("ours", ours), ("pipeline", theirs)), r):  # who runs first alternates
            times[name].append(seconds(fn) / args.batch)
    mo, mp = statistics.median(times["ours"]), statistics.median(times["pipeline"])
    paired = paired_ratio(times["ours"], times["pipeline"])
    print(f"largest pixel difference (0..1 scale): {difference:.2e}")
    print("| model | batch | steps | device | dtype | ours runs | ours s/image | pipeline s/image | ours / pipeline "
          "| paired |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    name = {"sd15": "SD-1.5-sized, random weights"}.get(args.shape, config["model"]["name"])
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(
        f"| {name} | {args.batch} | {args.steps} | {where} | {args.dtype} | {unet_options(config['model'])} | {mo:.4f} "
        f"| {mp:.4f} | {mo / mp:.2f} | {paired:.2f} |"
    )


if __name__ == "__main__":
    main()
