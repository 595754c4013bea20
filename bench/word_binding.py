"""Does one word of the instruction decide *where* the model draws? (docs/architecture.md, open problem).

The smallest form of the keypoint task's difficulty: "Circle the nose ... red." means a red disk at the top left,
"Circle the left ankle ... red." a red disk at the bottom right, on plain noisy backgrounds. The two instructions
differ in one or two tokens, as joint names do. Every ``--every`` steps the script asks the model for its clean
prediction (x0) from pure noise (t=999) and from t=600 on 32 fixed held-out requests and counts how many put the
disk on the requested side (16/32 is chance).

``--embeddings`` picks what the UNet cross-attends to:
  instruction  the model's own tokenizer + text encoder (what idiff trains);
  fixed        one random vector per word, repeated at all 77 positions (an upper bound: no word to find);
  needle       77 fixed random vectors, the word's vector at position 3 only (a word to find, nothing to learn
               on the text side).

    python bench/word_binding.py --steps 1000 --every 100 model.text_encoder.token_embedding_std=1.0

Trailing arguments are Hydra overrides of the ``fit`` config (the embedded default's model and stage).
"""

from __future__ import annotations

import argparse
import time

import torch
from omegaconf import OmegaConf

from idiff.cli import compose_config
from idiff.diffusion.unet import unet_conditioning
from idiff.module import DiffusionModule

RED = torch.tensor([1.0, -1.0, -1.0])[:, None, None]
WORDS = ("Circle the nose of the people with the color red.", "Circle the left ankle of the people with the color red.")


def disks(size: int = 64) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    lo, hi = size // 4, 3 * size // 4
    return torch.stack([((yy - lo) ** 2 + (xx - lo) ** 2 <= 9), ((yy - hi) ** 2 + (xx - hi) ** 2 <= 9)]).float()


def make_batch(n: int, places: torch.Tensor, generator: torch.Generator | None = None):
    """Sources, targets (red disk at the named place), instructions and the word index of each."""
    size = places.shape[-1]
    source = torch.rand(n, 3, 1, 1, generator=generator) * 1.4 - 0.7
    source = source + 0.1 * torch.randn(n, 3, size, size, generator=generator)
    word = torch.randint(0, 2, (n,), generator=generator)
    mask = places[word][:, None]
    return source, source * (1 - mask) + RED * mask, [WORDS[k] for k in word], word


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--embeddings", choices=("instruction", "fixed", "needle"), default="instruction")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = OmegaConf.to_container(compose_config("fit", args.overrides), resolve=True)
    model = DiffusionModule(config["model"], config["stage"], config["sampler"]).to(device)
    width = model.text_encoder.config.hidden_size
    word_vectors, positions = torch.randn(3, width, device=device), torch.randn(77, width, device=device)

    def word_of(instructions: list[str]) -> torch.Tensor:
        return torch.tensor([0 if "nose" in s else 1 if "ankle" in s else 2 for s in instructions], device=device)

    if args.embeddings == "fixed":
        model.encode_text = lambda ins: word_vectors[word_of(ins)][:, None].repeat(1, 77, 1)
    elif args.embeddings == "needle":

        def needle(ins: list[str]) -> torch.Tensor:
            out = positions[None].repeat(len(ins), 1, 1)
            out[:, 3] = word_vectors[word_of(ins)]
            return out

        model.encode_text = needle
    places = disks()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config["stage"]["optimizer"]["lr"])
    held_out = make_batch(32, places, torch.Generator().manual_seed(1))

    @torch.no_grad()
    def correct_sides() -> list[int]:
        source, _, instructions, word = held_out
        source = source.to(device)
        source_latents = model.codec.encode_source(source)
        kwargs = unet_conditioning(model.unet, model.encode_text(instructions), model.text_mask(instructions))
        counts = []
        for t in (999, 600):
            noise = torch.randn(source_latents.shape, generator=torch.Generator().manual_seed(2)).to(device)
            noisy = noise * float(1 - model.noise_scheduler.alphas_cumprod[t]) ** 0.5
            timesteps = torch.full((len(word),), t, device=device)
            x0 = model.unet(torch.cat([noisy, source_latents], 1), timesteps, **kwargs).sample
            image = model.codec.decode(model.from_diffused(x0, source_latents)).cpu()
            distance = (image - RED).norm(dim=1)
            per_place = (distance[:, None] * places).sum((-1, -2)) / places.sum((-1, -2))
            counts.append(int((per_place.argmin(1) == word).sum()))
        return counts

    start = time.time()
    for step in range(1, args.steps + 1):
        source, target, instructions, _ = make_batch(16, places)
        loss = model.diffusion_loss(source.to(device), target.to(device), instructions)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % args.every == 0:
            t999, t600 = correct_sides()
            print(
                f"step {step:5d}  loss {loss.item():.5f}  {time.time() - start:5.0f} s  "
                f"requested side (t=999, t=600): {t999}/32, {t600}/32",
                flush=True,
            )


if __name__ == "__main__":
    main()
