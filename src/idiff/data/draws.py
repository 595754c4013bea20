"""Reproducible draws: the random choices made while encoding one drawn sample.

A sample's random choices are a function of its *draw number* (its place in the run's sequence of drawn samples,
:class:`idiff.data.sampling.DistributedDraws`), not of what ran before, so one process and eight processes sharing
the same global batches encode every sample alike, and the number of DataLoader workers changes nothing:

- :func:`drawing` is entered by the mixture around each item with its draw number;
- :class:`SampleRandom` is what a training dataset calls for its random choices: inside :func:`drawing` it returns a
  generator seeded by (dataset seed, draw); used on its own it falls back to one generator per process / worker.

(The same API as the reliability branch's ``idiff.data.draws``, which adds a resumable sampler; this file is the
subset the stages need.)
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["SampleRandom", "current_draw", "drawing"]

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
