"""Reproducible draws: which samples an epoch takes, and the random choices made while encoding each of them.

Both are functions of the position in training, not of what ran before, so a run resumed from a mid-epoch
checkpoint sees the same samples, augmentations, colours and templates as an uninterrupted run, and the number of
DataLoader workers changes nothing:

- :class:`ResumableWeightedSampler` draws epoch ``e``'s items with replacement from a generator seeded by
  (seed, e) and can start an epoch part-way (:meth:`~ResumableWeightedSampler.resume`). It yields
  ``(index, draw)`` pairs; ``draw`` numbers the item in the whole run (``epoch * samples_per_epoch + position``).
  It counts its epochs itself (one per iteration) rather than following Lightning's epoch counter, which the
  checkpoint written at the end of ``fit`` marks as finished even when ``max_steps`` stopped it part-way.
- :class:`SampleRandom` is what a task's training dataset calls for its random choices: inside
  :func:`drawing` (the mixture wraps every item in it) it returns a generator seeded by (task seed, draw); used on
  its own it falls back to one generator per process / DataLoader worker.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

__all__ = ["ResumableWeightedSampler", "SampleRandom", "current_draw", "drawing"]

_DRAW: contextvars.ContextVar[tuple[int, ...] | None] = contextvars.ContextVar("idiff_draw", default=None)


@contextlib.contextmanager
def drawing(*key: int) -> Iterator[None]:
    """Within this block :class:`SampleRandom` draws from a generator keyed by ``key`` (e.g. the draw number)."""
    token = _DRAW.set(tuple(int(k) for k in key))
    try:
        yield
    finally:
        _DRAW.reset(token)


def current_draw() -> tuple[int, ...] | None:
    """The key set by the innermost :func:`drawing`, or None outside one."""
    return _DRAW.get()


class SampleRandom:
    """The numpy generator a training dataset uses for one item's random choices.

    Call it once per ``__getitem__``. Inside :func:`drawing` the generator is seeded by (``seed``, draw key): the same
    item at the same place of a run gets the same choices, resumed or not. Outside (a dataset used on its own) it is
    one generator per process and DataLoader worker, seeded from ``seed``, the worker id and
    ``torch.initial_seed()`` (which the DataLoader varies per worker and epoch), so workers do not repeat each other.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._owner: tuple[int, int] | None = None
        self._fallback = np.random.default_rng(self.seed)

    def __call__(self) -> np.random.Generator:
        key = current_draw()
        if key is not None:
            return np.random.default_rng([self.seed, *key])
        info = torch.utils.data.get_worker_info()
        owner = (os.getpid(), -1 if info is None else info.id)
        if owner != self._owner:
            self._owner = owner
            self._fallback = np.random.default_rng([self.seed, owner[1] + 1, torch.initial_seed() % 2**63])
        return self._fallback


class ResumableWeightedSampler(Sampler[tuple[int, int]]):
    """``num_samples`` items per epoch drawn with replacement, P(item) proportional to ``weights``; resumable.

    Args:
        weights: one non-negative weight per item of the dataset.
        num_samples: items per epoch.
        seed: the run seed; epoch ``e`` draws from a generator seeded by (seed, e).
    """

    def __init__(self, weights: Sequence[float], num_samples: int, seed: int = 0) -> None:
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.epoch = 0
        self._start = 0

    def __len__(self) -> int:
        return self.num_samples

    def resume(self, epoch: int, start: int) -> None:
        """Make the next iteration the rest of epoch ``epoch``, from its item number ``start``; later ones follow."""
        self.epoch, self._start = int(epoch), max(0, int(start))

    def epoch_indices(self, epoch: int) -> list[int]:
        """The items of epoch ``epoch``, in order."""
        seed = int(np.random.SeedSequence([self.seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1)
        generator = torch.Generator().manual_seed(seed)
        return torch.multinomial(self.weights, self.num_samples, True, generator=generator).tolist()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        # Each iteration is one epoch, counted when it starts: Lightning stops pulling after the epoch's last full
        # batch, so the end of an iteration is never reached with drop_last.
        epoch, start = self.epoch, self._start
        self.epoch, self._start = epoch + 1, 0
        base = epoch * self.num_samples
        indices = self.epoch_indices(epoch)
        for position in range(start, self.num_samples):
            yield indices[position], base + position
