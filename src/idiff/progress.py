"""The training progress bar: Lightning's rich bar, with the epoch count a step-bounded run will reach.

``idiff fit`` bounds training by ``trainer.max_steps`` with ``trainer.max_epochs: -1``, and Lightning's bar then
prints the epoch as ``Epoch 3/-2``. This bar prints ``Epoch 3/6`` instead: the last epoch (counted from 0, as
Lightning counts) that ``max_steps`` optimizer steps reach with the epoch's batches and gradient accumulation.
"""

from __future__ import annotations

import math

from lightning.pytorch.callbacks import RichProgressBar

__all__ = ["StepBoundedProgressBar", "last_epoch"]


def last_epoch(max_steps: int, batches_per_epoch: float, accumulate_grad_batches: int = 1) -> int | None:
    """The 0-based index of the epoch in which ``max_steps`` optimizer steps end; None when it cannot be known."""
    if max_steps is None or max_steps < 0 or not math.isfinite(batches_per_epoch) or batches_per_epoch <= 0:
        return None
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / accumulate_grad_batches))
    return math.ceil(max_steps / steps_per_epoch) - 1


class StepBoundedProgressBar(RichProgressBar):
    """:class:`~lightning.pytorch.callbacks.RichProgressBar` that names the last epoch of a step-bounded run."""

    def _get_train_description(self, current_epoch: int) -> str:
        trainer = self.trainer
        if trainer.max_epochs not in (None, -1):
            return super()._get_train_description(current_epoch)
        last = last_epoch(trainer.max_steps, trainer.num_training_batches, trainer.accumulate_grad_batches)
        if last is None:
            return f"Epoch {current_epoch}"
        return f"Epoch {current_epoch}/{max(last, current_epoch)}"
