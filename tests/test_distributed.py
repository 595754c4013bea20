"""Several processes see the same global batches, with the same per-sample noise, as one process; DDP on CPU."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import WeightedRandomSampler

from idiff.adaptation.dataset import AdaptationData
from idiff.data.datamodule import MixtureDataModule
from idiff.data.draws import ResumableWeightedSampler
from idiff.data.mixture import TaskMixture, collate_samples
from idiff.data.sampling import DistributedDraws
from idiff.diffusion.conditioning import ConditioningDropout
from idiff.diffusion.training_noise import training_draws
from idiff.testing.pytest_plugin import TINY_OVERRIDES


def weighted(seed: int = 0) -> WeightedRandomSampler:
    return WeightedRandomSampler([1.0] * 5 + [3.0] * 5, 13, generator=torch.Generator().manual_seed(seed))


def batches(sampler, batch_size: int) -> list[list[tuple[int, int]]]:
    items = list(sampler)
    return [items[i : i + batch_size] for i in range(0, len(items) - batch_size + 1, batch_size)]


@pytest.mark.parametrize("world", [2, 3])
def test_the_processes_kth_batches_together_are_one_process_kth_batch(world):
    one = DistributedDraws(weighted(), 1, 0)
    ranks = [DistributedDraws(weighted(), world, rank) for rank in range(world)]
    for epoch in range(3):  # the draws go on from epoch to epoch, identically everywhere
        single = batches(one, 2 * world)
        shares = [batches(r, 2) for r in ranks]
        assert len(single) == min(len(s) for s in shares) > 0
        for k, global_batch in enumerate(single):
            assert sorted(global_batch) == sorted(item for share in shares for item in share[k])
        assert {draw for _, draw in global_batch} <= set(range(epoch * 13, (epoch + 1) * 13))


@pytest.mark.parametrize(("world", "global_step"), [(2, 1), (2, 3), (2, 4), (3, 2), (3, 5)])
def test_each_process_resumes_its_share_where_the_checkpoint_left_it(world, global_step):
    weights, samples, batch_size = [1.0] * 7 + [2.0] * 5, 30, 2  # per process: 30 // world items, whole batches
    module = MixtureDataModule({}, {}, batch_size)
    module.mixture = type("Mixture", (), {"samples_per_epoch": samples})()
    for rank in range(world):
        uninterrupted = DistributedDraws(ResumableWeightedSampler(weights, samples, 3), world, rank)
        done = [b for _ in range(3) for b in batches(uninterrupted, batch_size)]
        sampler = ResumableWeightedSampler(weights, samples, 3)
        sampler.resume(*module.resume_point(global_step, 1, world))
        resumed = DistributedDraws(sampler, world, rank)
        rest = [b for _ in range(3 - sampler.epoch) for b in batches(resumed, batch_size)]
        assert rest == done[global_step : global_step + len(rest)] and rest


def test_a_samples_noise_does_not_depend_on_its_batch():
    dropout = ConditioningDropout(0.3, 0.3, 0.1)
    args = (50, dropout, torch.device("cpu"), torch.float32, 0)
    whole = training_draws(torch.Size([4, 3, 8, 8]), *args, keys=torch.tensor([7, 8, 9, 10]))
    part = training_draws(torch.Size([2, 3, 8, 8]), *args, keys=torch.tensor([10, 8]))
    torch.testing.assert_close(part.noise, whole.noise[[3, 1]])
    assert part.timesteps.tolist() == whole.timesteps[[3, 1]].tolist()
    assert part.drop_text.tolist() == whole.drop_text[[3, 1]].tolist()
    other = training_draws(torch.Size([1, 3, 8, 8]), *args[:-1], 1, keys=torch.tensor([7]))
    assert not torch.allclose(other.noise[0], whole.noise[0])  # the run seed matters


def test_two_processes_encode_the_same_samples_as_one(captioned_folder):
    folder, captions = captioned_folder
    data = AdaptationData(str(folder), str(captions), {"circle": 1, "patches": 1}, resolution=32)
    mixture = TaskMixture({"pretrain_adaptation": data.train_dataset()}, {"pretrain_adaptation": 1.0})

    def first_global_batch(world: int) -> dict:
        items = [mixture[item] for rank in range(world)
                 for item in list(DistributedDraws(mixture.sampler(0), world, rank))[: 4 // world]]
        batch = collate_samples(items)
        order = np.argsort(batch["draw"].numpy())
        return {"draw": batch["draw"][order], "target": batch["target"][order],
                "instruction": [batch["instruction"][i] for i in order]}

    one, two = first_global_batch(1), first_global_batch(2)
    assert one["draw"].tolist() == two["draw"].tolist() == [0, 1, 2, 3]
    assert one["instruction"] == two["instruction"]
    torch.testing.assert_close(one["target"], two["target"])


def _losses(run_dir) -> list[float]:
    (metrics,) = run_dir.glob("fit/*/logs/metrics.csv")
    rows = [row for row in csv.DictReader(metrics.open()) if row.get("train/loss")]
    return [float(row["train/loss"]) for row in sorted(rows, key=lambda r: int(r["step"]))]


def _unet(run_dir) -> dict[str, torch.Tensor]:
    (last,) = run_dir.glob("fit/*/checkpoints/last.ckpt")
    state = torch.load(last, weights_only=True)["state_dict"]
    return {k: v for k, v in state.items() if k.startswith("unet.")}


@pytest.mark.slow
def test_ddp_with_two_cpu_processes_follows_one_process_with_the_same_global_batch(captioned_folder, tmp_path):
    """1 process x batch 4, 2 processes (gloo) x batch 2, 1 process x batch 2 x accumulation 2: same steps.

    Plain SGD, so that equal gradients show as equal weights: Adam divides each gradient by its own magnitude and so
    turns float-rounding noise in near-zero gradients into whole-lr updates (docs/architecture.md).
    """
    folder, captions = captioned_folder
    base = [sys.executable, "-m", "idiff.cli", "fit", *TINY_OVERRIDES, "stage=pretrain_adaptation",
            f"stage.images={folder}", f"stage.captions={captions}", "trainer.max_steps=3", "seed=3",
            "stage.optimizer._target_=torch.optim.SGD", "stage.optimizer.lr=0.1"]
    runs = {
        "one": ["data.batch_size=4"],
        "ddp": ["data.batch_size=2", "strategy=ddp", "trainer.devices=2"],
        "accumulated": ["data.batch_size=2", "trainer.accumulate_grad_batches=2"],
    }
    for name, extra in runs.items():
        # A subprocess: Lightning's DDP launcher re-runs the command line, which must be idiff's, not pytest's.
        subprocess.run([*base, *extra, f"paths.runs_dir={tmp_path / name}"], cwd=tmp_path, check=True,
                       capture_output=True, timeout=900)
    one, ddp = _losses(tmp_path / "one"), _losses(tmp_path / "ddp")
    assert len(one) == 3 and len(set(one)) == 3  # 3 steps crossing an epoch (8 images, 4 per step)
    np.testing.assert_allclose(ddp, one, rtol=1e-6)
    reference = _unet(tmp_path / "one")
    for name in ("ddp", "accumulated"):
        for key, value in _unet(tmp_path / name).items():  # 3 steps move weights by ~3e-3, float noise ~6e-8
            torch.testing.assert_close(value, reference[key], rtol=0, atol=1e-6, msg=f"{name}: {key}")
