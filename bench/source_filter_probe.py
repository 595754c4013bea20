"""How fast ``model.source_filter`` can learn one kernel per task from what it reads (docs/architecture.md,
"Restoration in the default").

The filter alone (no UNet) is trained on a mixed stream of restoration and editing samples, as the default mixture
feeds it (denoise 400 : deblur 440 : watermark_removal 200 : editing 200 per epoch, batch 16, 7.5% of instructions
dropped to the empty one), with AdamW, to predict target = source + filter(source). What the filter reads
(``--reads``):

- ``encoder``: the committed pooling, the mean of the instruction's own token states from the (random, frozen) text
  encoder of the ``fit`` config;
- ``tokens``: the mean of the instruction's own token *embeddings* (the encoder's input layer: a bag of words);
- ``task``: a one-hot of the task the instruction's template belongs to (denoise, deblur, empty, other), the upper
  bound of what any instruction representation can give.

Every ``--every`` steps the filter alone (output = source + its edit) is scored on the first 48 denoise and deblur test
requests (tiles), beside the identity (output = input). The per-task kernels of a pure pixel filter reach
denoise 27.65 / deblur tiles 30.22 dB from 25.22 / 29.69 in 100 steps each (docs).

    python bench/source_filter_probe.py --reads encoder --lr 1e-4 --steps 400
    python bench/source_filter_probe.py --reads task --lr 1e-4 --steps 400
    python bench/source_filter_probe.py --reads encoder model.text_encoder.token_embedding_std=1.0

Run from a folder where the tasks' synthetic data is (or may be written). Trailing arguments are Hydra overrides of
the ``fit`` config.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from _arguments import parse_known
from idiff_enhancement.templates import DEBLUR_TEMPLATES, DENOISE_TEMPLATES
from omegaconf import OmegaConf
from restoration_probe import mean_psnr, to_tensor, to_uint8

from idiff.cli import compose_config
from idiff.diffusion.source_filter import SourceFilter
from idiff.module import DiffusionModule
from idiff.tasks.factory import build_task
from idiff.text import _tokenize, instruction_mask

MIXTURE = {"denoise": 400, "deblur": 440, "watermark_removal": 200, "editing": 200}  # samples per default epoch
SCORED = ("denoise", "deblur")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", choices=("encoder", "tokens", "task"), default="encoder")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--kernel-size", type=int, default=5)
    parser.add_argument("overrides", nargs="*")
    args = parse_known(parser)
    torch.manual_seed(0)
    cfg = compose_config("fit", [f"model.source_filter={{kernel_size: {args.kernel_size}}}", *args.overrides])
    groups = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    module = DiffusionModule(**groups, seed=0).eval()
    tasks = {name: build_task(name, cfg, resolution=cfg.model.resolution) for name in MIXTURE}
    datasets = {name: task.train_dataset() for name, task in tasks.items()}
    requests = {name: tasks[name].test_requests()[:48] for name in SCORED}
    width = module.text_encoder.config.hidden_size
    source_filter = SourceFilter(width, module.codec.downsample_factor, args.kernel_size)

    @torch.no_grad()
    def reads(instructions: list[str]) -> torch.Tensor:
        if args.reads == "task":
            index = [0 if i in DENOISE_TEMPLATES else 1 if i in DEBLUR_TEMPLATES else 2 if i == "" else 3
                     for i in instructions]
            return F.one_hot(torch.tensor(index), width).float()
        if args.reads == "encoder":
            mask = instruction_mask(module.tokenizer, instructions, module.device)
            return SourceFilter.pool(module.encode_text(instructions), mask)
        tokens = _tokenize(module.tokenizer, instructions)  # the ids and mask the text encoder gets
        embeddings = module.text_encoder.get_input_embeddings()(tokens.input_ids)
        return SourceFilter.pool(embeddings, tokens.attention_mask.bool())

    def edited(sources: torch.Tensor, instructions: list[str]) -> torch.Tensor:
        latents = module.codec.encode_source(sources)
        return sources + module.codec.decode(source_filter(latents, reads(instructions)))

    def score() -> dict[str, float]:
        with torch.no_grad():
            return {name: round(mean_psnr(to_uint8(edited(to_tensor([r.source for r in reqs]),
                                                          [r.instruction for r in reqs])),
                                          [r.target for r in reqs]), 3)
                    for name, reqs in requests.items()}

    identity = {name: round(mean_psnr([r.source for r in reqs], [r.target for r in reqs]), 3)
                for name, reqs in requests.items()}
    print(f"reads={args.reads} lr={args.lr} identity {identity}", flush=True)
    optimizer = torch.optim.AdamW(source_filter.parameters(), lr=args.lr, weight_decay=0.01)
    rng = np.random.default_rng(0)
    names = list(MIXTURE)
    shares = np.array(list(MIXTURE.values()), dtype=float) / sum(MIXTURE.values())
    for step in range(args.steps + 1):
        if step % args.every == 0:
            print(step, score(), flush=True)
        chosen = [datasets[names[i]] for i in rng.choice(len(names), size=16, p=shares)]
        samples = [d[int(rng.integers(len(d)))] for d in chosen]
        instructions = [s.instruction if rng.random() > 0.075 else "" for s in samples]
        sources, targets = to_tensor([s.source for s in samples]), to_tensor([s.target for s in samples])
        loss = F.mse_loss(edited(sources, instructions), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


if __name__ == "__main__":
    main()
