"""Numbered draws shared out between processes: every process sees its part of the *same* global batches.

One process with batch ``B x W`` and ``W`` processes with batch ``B`` each must train on the same samples, with the
same random choices, or a multi-GPU run is not the recipe it claims to be. Lightning's own distributed sampler does
not give that for a weighted sampler: it shuffles the drawn sequence again per process count. Here every process
draws the same epoch sequence from the mixture's seeded sampler and takes the positions ``rank, rank + W, ...``, so
its ``k``-th batch holds positions ``k B W + j W + rank`` (``j < B``): together the processes' ``k``-th batches are
positions ``[k B W, (k + 1) B W)``, exactly the ``k``-th batch of one process with batch ``B W``. Gradient
accumulation composes the same way.

A resumable sampler resumed part-way through an epoch (:class:`idiff.data.draws.ResumableWeightedSampler`) yields
the rest of it; each process then takes its share of the positions left.

Each item is yielded as ``(index, draw)``; ``draw`` numbers the item in the whole run (``epoch * N + position``).
The mixture encodes the item inside :func:`idiff.data.draws.drawing` and the module keys the item's noise,
timestep and conditioning dropout by the same number (:mod:`idiff.diffusion.training_noise`), so a sample is
treated alike whatever the number of processes (tests/test_distributed.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import DistributedSampler, Sampler

__all__ = ["DistributedDraws"]


class DistributedDraws(DistributedSampler):
    """This process's share of ``sampler``'s epochs, each item numbered by its draw.

    A :class:`~torch.utils.data.DistributedSampler` so that Lightning does not wrap it again.

    Args:
        sampler: yields dataset indices (or ``(index, draw)`` pairs, passed through); must yield the same sequence
            on every process (a seeded sampler does).
        num_replicas: number of processes (``trainer.world_size``).
        rank: this process's global rank.
    """

    def __init__(self, sampler: Sampler, num_replicas: int = 1, rank: int = 0) -> None:
        # DistributedSampler.__init__ wants a dataset; this sampler shares out another sampler instead.
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside [0, {num_replicas})")
        self.sampler = sampler
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.passes = 0  # full passes over ``sampler``: one per epoch
        self.shuffle, self.drop_last, self.seed = False, True, 0

    @property
    def epoch_size(self) -> int:
        """Draws per epoch over all processes (the tail that does not fill every process is dropped)."""
        return len(self.sampler) // self.num_replicas * self.num_replicas  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.epoch_size // self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this before each epoch; the draws follow the passes made, not this number."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        items = list(self.sampler)
        # A resumed sampler (ResumableWeightedSampler.resume) yields only the rest of its epoch: the positions
        # before ``skipped`` were drawn before the run stopped.
        skipped = max(0, len(self.sampler) - len(items))  # type: ignore[arg-type]
        base = self.passes * len(self.sampler)  # type: ignore[arg-type]
        self.passes += 1
        for position in range(self.rank, self.epoch_size, self.num_replicas):
            if position < skipped:
                continue
            item = items[position - skipped]
            yield (int(item[0]), int(item[1])) if isinstance(item, tuple) else (int(item), base + position)
