"""Reproducible draws: the resumable sampler picks up an epoch where a checkpoint left it; per-draw randomness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler

from idiff.data.datamodule import MixtureDataModule
from idiff.data.draws import ResumableWeightedSampler, SampleRandom, drawing
from idiff.data.mixture import TaskMixture


def batches(sampler: ResumableWeightedSampler, batch_size: int, epochs: int) -> list[list[tuple[int, int]]]:
    """What the DataLoader hands to Lightning: ``epochs`` iterations of full batches."""
    out = []
    for _ in range(epochs):
        out += list(BatchSampler(sampler, batch_size, drop_last=True))
    return out


def test_epochs_differ_and_follow_the_weights():
    sampler = ResumableWeightedSampler([1.0] * 10 + [3.0] * 10, 4000, seed=5)
    first, second = [[i for i, _ in batch] for batch in batches(sampler, 4000, 2)]
    assert first != second
    heavy = np.mean([i >= 10 for i in first + second])
    assert heavy == pytest.approx(0.75, abs=0.02)  # weight 3 against 1
    numbered = ResumableWeightedSampler([1.0, 1.0], 5, 0)
    assert [[d for _, d in batch] for batch in batches(numbered, 5, 2)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


@pytest.mark.parametrize("global_step", [1, 6, 7, 8, 13, 20])
def test_resuming_at_a_step_continues_the_uninterrupted_batches(global_step):
    weights, samples, batch_size = [1.0] * 7 + [2.0] * 5, 30, 4  # 7 batches per epoch, the last 2 items dropped
    module = MixtureDataModule({}, {}, batch_size)
    module.mixture = type("Mixture", (), {"samples_per_epoch": samples})()
    uninterrupted = batches(ResumableWeightedSampler(weights, samples, 3), batch_size, 4)
    resumed = ResumableWeightedSampler(weights, samples, 3)
    epoch, start = module.resume_point(global_step)
    resumed.resume(epoch, start)
    rest = list(BatchSampler(resumed, batch_size, drop_last=True))
    rest += batches(resumed, batch_size, 4 - epoch - 1)
    assert rest == uninterrupted[global_step:]


def test_sample_random_is_keyed_by_the_draw_inside_drawing_only():
    random = SampleRandom(seed=11)
    with drawing(42, 0):
        a = random().integers(1 << 30, size=4)
    with drawing(42, 0):
        assert np.array_equal(random().integers(1 << 30, size=4), a)
    with drawing(43, 0):
        assert not np.array_equal(random().integers(1 << 30, size=4), a)
    outside = random()
    assert random() is outside  # one generator per process outside drawing


def test_mixture_items_are_encoded_inside_their_draw():
    class Draws(torch.utils.data.Dataset):
        random = SampleRandom(0)

        def __len__(self) -> int:
            return 3

        def __getitem__(self, index: int) -> float:
            return float(self.random().random())

    mixture = TaskMixture({"a": Draws()}, {"a": 1.0})
    assert mixture[(1, 9)].sample == mixture[(1, 9)].sample != mixture[(1, 10)].sample


def test_mixture_table_lists_a_task_s_own_datasets_under_it():
    class Weighted(torch.utils.data.Dataset):
        def __len__(self):
            return 30

        def describe(self):
            return "sidd: 1 pairs x weight 20 = 20 samples\ngopro: 5 pairs x weight 2 = 10 samples"

    class Plain(torch.utils.data.Dataset):
        def __len__(self):
            return 4

    table = TaskMixture({"enhance": Weighted(), "other": Plain()}, {"enhance": 1.0, "other": 0.5}).describe()
    lines = table.splitlines()
    assert lines[1].split() == ["enhance", "30", "1", "30"]
    assert lines[2] == "    sidd: 1 pairs x weight 20 = 20 samples" and lines[3].startswith("    gopro:")
    assert lines[4].split() == ["other", "4", "0.5", "2"] and lines[5].split() == ["total", "32"]
