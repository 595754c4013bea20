"""How fast does the model learn to put a disk on the *named* joint of a real (synthetic) figure?

The keypoint task between ``bench/word_binding.py`` (one word, two fixed places, plain backgrounds) and the whole
task (17 joints, 1-5 per instruction, 9 colours): person crops of the keypoints plugin's synthetic figures, one
or more joints from ``--joints`` per instruction, colours ``red`` only or ``random``, every template. Training
batches come from a DataLoader over the plugin's own crop / encode functions (``--workers`` processes).

Every ``--every`` steps it scores 64 held-out requests (val figures, fixed joints and colours): the model's clean
prediction (x0) from pure noise (t=999) is decoded by the plugin's decoder, and the median pixel error to the
requested joint is printed next to two baselines that need no image: the crop centre, and each joint's mean
position over the training crops (what a model that ignored the figure but read the word could reach). A model
that localises beats both. ``--sample`` adds the full sampler with the task's guidance at the end.

    python bench/joint_binding.py --joints nose,left_ankle --steps 1000 --every 100 \
        model.text_encoder.token_embedding_std=1.0 model.mask_padding=true

Trailing arguments are Hydra overrides of the ``fit`` config (model, stage, task options).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from idiff_keypoints.crops import make_crop, sample_augmentation
from idiff_keypoints.dataset import load_rgb
from idiff_keypoints.decoding import decode_keypoints
from idiff_keypoints.encoding import encode_keypoints
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, IterableDataset

from idiff.cli import compose_config
from idiff.data.mixture import images_to_tensor
from idiff.diffusion.unet import unet_conditioning
from idiff.module import DiffusionModule
from idiff.workflows import mixture_tasks


class Requests:
    """Crops of one split and the joints / colours / counts a request may name."""

    def __init__(self, task, split: str, joints: list[int], colours: str, max_per: int, augment: bool) -> None:
        data = task.split(split)
        self.instances, self.layout = data.instances, data.layout
        self.joints, self.colours, self.max_per, self.augment = joints, colours, max_per, augment
        self.cfg, self.res, self.radius = task.config, task.context.resolution, task.radius

    def sample(self, rng: np.random.Generator, index: int | None = None):
        inst = self.instances[int(rng.integers(len(self.instances))) if index is None else index]
        cfg, aug = self.cfg, None
        if self.augment:
            aug = sample_augmentation(
                rng, cfg.scale_factor, cfg.rotation_factor, cfg.rotation_prob, cfg.flip_prob, cfg.half_body_prob
            )
        crop, kp, _ = make_crop(load_rgb(inst.image_path), inst.bbox, inst.keypoints, self.res, self.layout, aug, rng)
        pool = [j for j in self.joints if kp[j, 2] > 0.5]
        if not pool:
            return None
        chosen = rng.permutation(pool)[: int(rng.integers(1, min(self.max_per, len(pool)) + 1))].tolist()
        colours = ["red"] if self.colours == "red" else None
        enc = encode_keypoints(crop, kp, self.layout.names, rng, radius=self.radius, joints=chosen, colours=colours)
        return crop, enc, kp


class Stream(IterableDataset):
    def __init__(self, requests: Requests, seed: int) -> None:
        self.requests, self.seed = requests, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            item = self.requests.sample(rng)
            if item is not None:
                crop, enc, _ = item
                yield crop, enc.target, enc.instruction


def collate(items):
    sources, targets, instructions = zip(*items, strict=True)
    return images_to_tensor(list(sources)), images_to_tensor(list(targets)), list(instructions)


def joint_means(requests: Requests, n: int = 2000) -> np.ndarray:
    """Mean crop position of every joint over ``n`` training crops (the image-blind baseline)."""
    rng, sums, counts = np.random.default_rng(7), np.zeros((requests.layout.num_joints, 2)), np.zeros(17)
    for _ in range(n):
        inst = requests.instances[int(rng.integers(len(requests.instances)))]
        aug = None
        if requests.augment:
            c = requests.cfg
            aug = sample_augmentation(rng, c.scale_factor, c.rotation_factor, c.rotation_prob, c.flip_prob, 0.0)
        _, kp, _ = make_crop(load_rgb(inst.image_path), inst.bbox, inst.keypoints, requests.res, requests.layout, aug)
        ok = kp[:, 2] > 0.5
        sums[ok] += kp[ok, :2]
        counts[ok] += 1
    return sums / np.maximum(counts, 1)[:, None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--joints", default="nose,left_ankle", help="comma-separated joint names, or 'all'")
    parser.add_argument("--colours", choices=("red", "random"), default="red")
    parser.add_argument("--max-per-instruction", type=int, default=1)
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds (0 = no limit)")
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--sample", action="store_true", help="also score the full guided sampler at the end")
    parser.add_argument("--save", default="", help="write the model's state dict here at the end")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    drop = ["~data.mixture", "+data.mixture={keypoints: 1.0}"]
    cfg = compose_config("fit", [*drop, *args.overrides])
    task = mixture_tasks(cfg)["keypoints"]
    task.prepare_data()
    names = list(task.split(task.config.train_split).layout.names)
    joints = list(range(len(names))) if args.joints == "all" else [names.index(j) for j in args.joints.split(",")]
    if args.colours == "red" and args.max_per_instruction > 1:
        parser.error("--colours red allows one joint per instruction")
    augment = task.config.augment and not args.no_augment
    train = Requests(task, task.config.train_split, joints, args.colours, args.max_per_instruction, augment)
    val = Requests(task, task.config.val_split, joints, args.colours, args.max_per_instruction, False)
    means = joint_means(train)
    rng = np.random.default_rng(11)
    held_out = []
    while len(held_out) < 64:
        item = val.sample(rng, int(rng.integers(len(val.instances))))
        if item is not None:
            held_out.append(item)
    config = OmegaConf.to_container(cfg, resolve=True)
    model = DiffusionModule(config["model"], config["stage"], config["sampler"]).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config["stage"]["optimizer"]["lr"], weight_decay=0.01)
    loader = DataLoader(
        Stream(train, seed=1),
        batch_size=args.batch,
        collate_fn=collate,
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
    )
    sources = images_to_tensor([c for c, _, _ in held_out]).to(device)
    instructions = [e.instruction for _, e, _ in held_out]
    truth = [(kp[list(e.joints), :2], e.joints) for _, e, kp in held_out]
    centre = (task.context.resolution - 1) / 2.0

    def errors(images: torch.Tensor) -> tuple[float, float, float, float]:
        pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        model_err, centre_err, mean_err = [], [], []
        for k, ((crop, enc, _), (xy, js)) in enumerate(zip(held_out, truth, strict=True)):
            found = decode_keypoints(pixels[k], crop, list(enc.colours), radius=task.radius)
            model_err += list(np.linalg.norm(found[:, :2] - xy, axis=1))
            centre_err += list(np.linalg.norm(xy - centre, axis=1))
            mean_err += list(np.linalg.norm(means[list(js)] - xy, axis=1))
        pck = float(np.mean(np.asarray(model_err) <= 0.1 * task.context.resolution))
        return float(np.median(model_err)), pck, float(np.median(centre_err)), float(np.median(mean_err))

    @torch.no_grad()
    def x0_from_noise() -> torch.Tensor:
        source_latents = model.codec.encode_source(sources)
        kwargs = unet_conditioning(model.unet, model.encode_text(instructions), model.text_mask(instructions))
        noise = torch.randn(source_latents.shape, generator=torch.Generator().manual_seed(2)).to(device)
        noisy = noise * float(1 - model.noise_scheduler.alphas_cumprod[999]) ** 0.5
        timesteps = torch.full((len(instructions),), 999, device=device)
        x0 = model.unet(torch.cat([noisy, source_latents], 1), timesteps, **kwargs).sample
        return model.codec.decode(model.from_diffused(x0, source_latents))

    print(
        f"joints {[names[j] for j in joints]}, colours {args.colours}, <= {args.max_per_instruction} per "
        f"instruction, augment {augment}, batch {args.batch}, device {device}",
        flush=True,
    )
    start, step = time.time(), 0
    for source, target, batch_instructions in loader:
        step += 1
        loss = model.diffusion_loss(source.to(device), target.to(device), batch_instructions)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if model.ema is not None:
            model.ema.to(device)
            model.ema.step(model.unet.parameters())
        done = step >= args.steps or (args.seconds and time.time() - start > args.seconds)
        if step % args.every == 0 or done:
            med, pck, c, m = errors(x0_from_noise())
            print(
                f"step {step:6d}  {time.time() - start:6.0f} s  loss {loss.item():.4f}  x0@999: median error "
                f"{med:5.1f} px, PCK@0.1 {pck:.2f}  (centre {c:.1f} px, joint mean {m:.1f} px)",
                flush=True,
            )
        if done:
            break
    if args.sample:
        scales = task.config.guidance
        if model.ema is not None:
            model.ema.copy_to(model.unet.parameters())
        generator = torch.Generator(device).manual_seed(0)
        images = model.generate(sources, instructions, scales.text, scales.image, generator)
        med, pck, c, m = errors(images)
        print(f"sampled (EMA, {scales.text}/{scales.image}): median error {med:.1f} px, PCK@0.1 {pck:.2f}", flush=True)
    if args.save:
        torch.save(model.state_dict(), args.save)


if __name__ == "__main__":
    main()
