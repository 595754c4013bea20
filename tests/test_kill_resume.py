"""Crash and resume: ``idiff fit`` and ``idiff test`` killed with SIGKILL at several points, as real processes.

Each run is a subprocess of ``pausing_cli.py``, which pauses at one point (mid-step, mid-checkpoint-write,
mid-generation, mid-metrics-write) so that the SIGKILL lands there. A fit killed three times and resumed with
``resume=auto`` each time must end with exactly the weights, EMA and optimizer state of an uninterrupted run
(``trainer.deterministic=true``, CPU: bit-for-bit, ``torch.equal``), and no half-written file may ever sit under a
real name or be picked up as the latest checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from idiff.checkpoint_io import is_complete_checkpoint
from idiff.checkpoints import find_latest_checkpoint
from idiff.testing.pytest_plugin import TINY_OVERRIDES

CLI = Path(__file__).with_name("pausing_cli.py")
STEPS = 14  # 30 samples per epoch at batch 4 = 7 steps: two epochs, the kills fall on both sides of the boundary
SMALL_DATA = [
    f"{prefix}.{key}={n}"
    for prefix in ("task", "++data.tasks.referring_segmentation", "++data.tasks.semantic_segmentation")
    for key, n in (("synthetic_train_images", 6), ("synthetic_val_images", 2))
]
FIT = [*TINY_OVERRIDES, *SMALL_DATA, f"trainer.max_steps={STEPS}", "checkpoint.every_n_train_steps=2",
       "trainer.deterministic=true"]


class Run:
    """One ``idiff`` subprocess that pauses at ``point`` / ``n``; its output goes to ``<name>.log``."""

    def __init__(self, workdir: Path, name: str, args: list[str], point: str = "none", n: int = 0) -> None:
        self.marker = workdir / f"{name}.paused"
        self.log = workdir / f"{name}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(CLI), point, str(n), str(self.marker), *args],
                cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
            )

    def kill_when_paused(self, timeout: float = 300) -> None:
        """Wait for the pause, then SIGKILL the process."""
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            if self.process.poll() is not None:
                tail = self.log.read_text()[-3000:]
                raise AssertionError(f"exited ({self.process.returncode}) before pausing:\n{tail}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"no pause within {timeout} s:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=60) == -signal.SIGKILL

    def finish(self, timeout: float = 600) -> str:
        """Wait for a normal exit; returns the output."""
        assert self.process.wait(timeout=timeout) == 0, self.log.read_text()[-3000:]
        return self.log.read_text()


def fit_args(runs: Path, data: Path, name: str, *extra: str) -> list[str]:
    return ["fit", *FIT, f"paths.runs_dir={runs}", f"paths.data_dir={data}", f"hydra.run.dir={runs}/fit/{name}",
            *extra]


def step_of(path: Path) -> int:
    return torch.load(path, map_location="cpu", weights_only=True)["global_step"]


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[Path, Path]:
    """An uninterrupted fit: (its last.ckpt, the data folder shared with the interrupted runs)."""
    workdir = tmp_path_factory.mktemp("baseline")
    data = workdir / "data"
    Run(workdir, "baseline", fit_args(workdir / "runs", data, "whole")).finish()
    return workdir / "runs" / "fit" / "whole" / "checkpoints" / "last.ckpt", data


@pytest.mark.slow
def test_fit_killed_three_times_resumes_to_the_uninterrupted_weights(baseline, tmp_path):
    whole, data = baseline
    runs = tmp_path / "runs"
    ckpt = {name: runs / "fit" / name / "checkpoints" / "last.ckpt" for name in ("1", "2", "3", "4", "5")}

    # 1. Killed mid-step (gradients of step 6 computed, weights not updated): last.ckpt is step 4's.
    Run(tmp_path, "1", fit_args(runs, data, "1"), "step", 5).kill_when_paused()
    assert step_of(ckpt["1"]) == 4 and not temporaries(ckpt["1"].parent)

    # 2. Resumed, then killed half-way through writing step 8's checkpoint: the half file is a temporary,
    #    last.ckpt is still the whole step-6 file, and resume=auto picks it.
    Run(tmp_path, "2", fit_args(runs, data, "2", "resume=auto"), "checkpoint-write", 8).kill_when_paused()
    torn = temporaries(ckpt["2"].parent)
    assert len(torn) == 1 and torn[0].stat().st_size > 0 and not is_complete_checkpoint(torn[0])
    assert step_of(ckpt["2"]) == 6 and find_latest_checkpoint(runs) == ckpt["2"]

    # 3. Resumed from step 6 and killed while writing its first checkpoint: its folder holds no last.ckpt at
    #    all, so the latest is still run 2's.
    Run(tmp_path, "3", fit_args(runs, data, "3", "resume=auto"), "checkpoint-write", 8).kill_when_paused()
    assert not ckpt["3"].exists() and len(temporaries(ckpt["3"].parent)) == 1
    assert find_latest_checkpoint(runs) == ckpt["2"]

    # 4. Resumed from step 6, killed mid-step 11 (after the step-10 checkpoint).
    Run(tmp_path, "4", fit_args(runs, data, "4", "resume=auto"), "step", 10).kill_when_paused()
    assert step_of(ckpt["4"]) == 10

    # 5. Resumed from step 10 to the end.
    out = Run(tmp_path, "5", fit_args(runs, data, "5", "resume=auto")).finish()
    assert f"resuming from {ckpt['4']}" in out

    a = torch.load(whole, map_location="cpu", weights_only=True)
    b = torch.load(ckpt["5"], map_location="cpu", weights_only=True)
    assert a["global_step"] == b["global_step"] == STEPS
    assert a["state_dict"].keys() == b["state_dict"].keys()
    unequal = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
    assert not unequal, f"{len(unequal)} tensors differ from the uninterrupted run, e.g. {unequal[:3]}"
    assert all(torch.equal(x, y) for x, y in zip(a["ema"]["shadow_params"], b["ema"]["shadow_params"], strict=True))
    moments_a, moments_b = a["optimizer_states"][0]["state"], b["optimizer_states"][0]["state"]
    assert moments_a.keys() == moments_b.keys()
    for key in moments_a:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(moments_a[key][name], moments_b[key][name]), (key, name)


@pytest.mark.slow
def test_test_killed_mid_generation_and_mid_write_leaves_no_half_outputs(baseline, tmp_path):
    whole, data = baseline
    runs = tmp_path / "runs"
    outputs = ("metrics.json", "keypoints_results.json", "grid.png")

    def args(name: str) -> list[str]:
        return ["test", "task=keypoints", *TINY_OVERRIDES, *SMALL_DATA, f"ckpt={whole}", "data.eval_batch_size=2",
                f"paths.runs_dir={runs}", f"paths.data_dir={data}", f"hydra.run.dir={runs}/test/{name}"]

    Run(tmp_path, "generate", args("1"), "generate", 1).kill_when_paused()
    assert not any((runs / "test" / "1" / name).exists() for name in outputs)

    Run(tmp_path, "write", args("2"), "metrics-write", 0).kill_when_paused()
    folder = runs / "test" / "2"
    assert json.loads((folder / "keypoints_results.json").read_text())  # written whole before metrics.json
    assert not (folder / "metrics.json").exists()
    (torn,) = temporaries(folder)
    with pytest.raises(json.JSONDecodeError):
        json.loads(torn.read_text())

    Run(tmp_path, "whole", args("3")).finish()
    report = json.loads((runs / "test" / "3" / "metrics.json").read_text())
    assert report["checkpoint"] == str(whole) and "AP" in report["metrics"]
