"""The random draws of one training batch: diffusion noise, timesteps and conditioning dropout.

Keyed per sample by its draw number (its place in the run's sequence of drawn samples,
:class:`idiff.data.sampling.DistributedDraws`), a sample gets the same noise, timestep and dropout whatever the number
of processes, the per-device batch size or the gradient accumulation: 2 processes with batch 2 take the same
optimizer steps as 1 process with batch 4 (tests/test_distributed.py). Without keys (a batch built by hand) the
draws come from torch's global generator, in the order the module always used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from idiff.diffusion.conditioning import ConditioningDropout

__all__ = ["TrainingDraws", "sample_seed", "training_draws"]


@dataclass
class TrainingDraws:
    """Per-sample draws of a batch of B samples."""

    noise: torch.Tensor  # like the target latents
    timesteps: torch.Tensor  # (B,) int64
    drop_text: torch.Tensor  # (B,) bool
    drop_image: torch.Tensor  # (B,) bool


def sample_seed(seed: int, draw: int) -> int:
    """A 63-bit generator seed for the sample drawn ``draw``-th in a run seeded with ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(draw)]).generate_state(1, dtype=np.uint64)[0] >> 1)


def training_draws(
    shape: torch.Size, num_timesteps: int, dropout: ConditioningDropout, device: torch.device, dtype: torch.dtype,
    seed: int = 0, keys: torch.Tensor | None = None,
) -> TrainingDraws:
    """Noise of ``shape``, timesteps in ``[0, num_timesteps)`` and dropout masks for ``shape[0]`` samples.

    With ``keys`` (one draw number per sample) each sample's draws come from its own CPU generator seeded by
    :func:`sample_seed` (dropout, then timestep, then noise); the result is moved to ``device``.
    """
    batch = shape[0]
    if keys is None:
        drop_text, drop_image = dropout.sample(batch, device)
        noise = torch.randn(shape, device=device, dtype=dtype)
        timesteps = torch.randint(0, num_timesteps, (batch,), device=device)
        return TrainingDraws(noise, timesteps, drop_text, drop_image)
    if len(keys) != batch:
        raise ValueError(f"training_draws: {len(keys)} keys for a batch of {batch}")
    texts, images, steps, noises = [], [], [], []
    for key in keys.tolist():
        generator = torch.Generator().manual_seed(sample_seed(seed, key))
        drop_text, drop_image = dropout.sample(1, torch.device("cpu"), generator)
        texts.append(drop_text)
        images.append(drop_image)
        steps.append(torch.randint(0, num_timesteps, (1,), generator=generator))
        noises.append(torch.randn(tuple(shape[1:]), generator=generator))
    return TrainingDraws(
        noise=torch.stack(noises).to(device=device, dtype=dtype),
        timesteps=torch.cat(steps).to(device),
        drop_text=torch.cat(texts).to(device),
        drop_image=torch.cat(images).to(device),
    )
