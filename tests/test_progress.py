"""The training progress bar names the last epoch of a step-bounded run (Lightning's own bar prints ``/-2``)."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch

from idiff.progress import StepBoundedProgressBar, last_epoch


@pytest.mark.parametrize(
    ("max_steps", "batches", "accumulate", "expected"),
    [(1000, 166, 1, 6), (166, 166, 1, 0), (167, 166, 1, 1), (10, 4, 2, 4), (5, 3, 2, 2), (-1, 166, 1, None),
     (100, math.inf, 1, None), (100, 0, 1, None)],
)
def test_last_epoch_of_a_step_bounded_run(max_steps, batches, accumulate, expected):
    assert last_epoch(max_steps, batches, accumulate) == expected


class _Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.epochs_seen: list[int] = []

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).square().mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def on_train_epoch_start(self) -> None:
        self.epochs_seen.append(self.current_epoch)

    def train_dataloader(self):
        data = torch.utils.data.TensorDataset(torch.randn(12, 2))
        return torch.utils.data.DataLoader(data, batch_size=4)  # 3 batches per epoch


def test_the_bar_shows_the_epoch_the_steps_end_in(tmp_path):
    bar = StepBoundedProgressBar()
    descriptions = []
    original = bar._get_train_description
    bar._get_train_description = lambda epoch: descriptions.append(original(epoch)) or descriptions[-1]
    module = _Tiny()
    trainer = L.Trainer(max_steps=7, max_epochs=-1, callbacks=[bar], logger=False, enable_checkpointing=False,
                        default_root_dir=tmp_path, enable_model_summary=False)
    trainer.fit(module)
    assert module.epochs_seen == [0, 1, 2]  # 7 steps of 3 batches end in epoch 2
    assert descriptions and {d.strip() for d in descriptions} <= {"Epoch 0/2", "Epoch 1/2", "Epoch 2/2"}
    assert "Epoch 2/2" in {d.strip() for d in descriptions}
