"""Guards of the reliability issue: the data.on_error policy, skips in the training mixture, preflight checks,
file names kept inside the dataset root, and the one-line errors the CLI gives for each."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from idiff.cli import main
from idiff.data.datamodule import MixtureDataModule
from idiff.data.dataset_paths import dataset_file
from idiff.data.error_policy import ErrorPolicy, report_skips
from idiff.data.mixture import TaskMixture, collate_samples
from idiff.errors import ConfigError, DataError
from idiff.preflight import check_free_space, check_resolution, check_writable
from idiff.tasks.api import EditSample, TaskContext
from idiff.testing.pytest_plugin import TINY_OVERRIDES


class Unreadable(Dataset):
    """Items whose index is in ``bad`` raise a DataError naming a file, as a task's dataset does."""

    def __init__(self, size: int, bad: set[int]) -> None:
        self.size, self.bad = size, bad

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> EditSample:
        if index in self.bad:
            raise DataError(f"/data/img{index}.jpg: cannot read image (truncated)")
        image = torch.full((4, 4, 3), index, dtype=torch.uint8).numpy()
        return EditSample(image, image, f"item {index}")


def test_error_policy_raises_or_skips_and_counts(tmp_path):
    with pytest.raises(ConfigError, match="data.on_error='ignore': allowed values are raise, skip"):
        ErrorPolicy("ignore")
    strict, lenient = ErrorPolicy("raise", "a"), ErrorPolicy("skip", "b")
    with pytest.raises(DataError, match="bad 1"), strict.guard():
        raise DataError("f.json: annotation 1 is bad 1")
    for i in range(3):
        with lenient.guard():
            raise DataError(f"f.json: annotation {i} is missing 'bbox'")
    with pytest.raises(ValueError), lenient.guard():  # only DataErrors are the policy's business
        raise ValueError("a bug")
    assert lenient.count == 3 and lenient.by_reason() == {"f.json: annotation * is missing 'bbox'": 3}
    report = report_skips({"a": strict, "b": lenient}, tmp_path)
    assert "3 bad records skipped" in report and "3 x f.json: annotation * is missing 'bbox'" in report
    assert json.loads((tmp_path / "skipped.json").read_text()) == {"b": lenient.skipped}
    with pytest.raises(DataError, match=r"f.json: persons: nothing usable \(3 skipped .*annotation 0"):
        lenient.require(0, "f.json: persons")


def test_mixture_replaces_unreadable_items_under_skip_and_the_batch_carries_the_count():
    data = Unreadable(6, bad={1, 2})
    with pytest.raises(DataError, match="img1.jpg"):
        TaskMixture({"t": data}, {"t": 1.0}, {"t": ErrorPolicy("raise")})[(1, 0)]
    policy = ErrorPolicy("skip", "t")
    mixture = TaskMixture({"t": data}, {"t": 1.0}, {"t": policy})
    drawn = mixture[(1, 0)]
    assert drawn.sample.instruction == "item 3" and [m for _, m in drawn.skipped] == [
        "/data/img1.jpg: cannot read image (truncated)", "/data/img2.jpg: cannot read image (truncated)"]
    task = SimpleNamespace(context=TaskContext(32, Path("."), 0, policy))
    module = MixtureDataModule({"t": task}, {"t": 1.0}, batch_size=3)
    module.mixture = mixture
    loader = DataLoader(mixture, batch_size=3, sampler=mixture.sampler(0), collate_fn=collate_samples, num_workers=2)
    seen = 0
    for batch in loader:  # the workers' skips reach the main process with the batches
        seen += len(batch["skipped"])
        assert "skipped" not in module.on_after_batch_transfer(batch, 0)
    assert seen and policy.count == seen
    with pytest.raises(DataError, match="none of its 6 training samples can be read"):
        TaskMixture({"t": Unreadable(6, set(range(6)))}, {"t": 1.0}, {"t": ErrorPolicy("skip")})[(0, 0)]


@pytest.mark.parametrize("name", ["../x.jpg", "a/../../x.jpg", "/etc/passwd", "", None, 7, "a\x00b"])
def test_file_names_outside_the_root_are_refused(tmp_path, name):
    with pytest.raises(DataError, match="ann.json: image 3 'file_name'"):
        dataset_file(tmp_path, name, "ann.json: image 3 'file_name'")


def test_file_names_inside_the_root_are_kept(tmp_path):
    assert dataset_file(tmp_path, "a/./b/../c.jpg", "x") == tmp_path / "a" / "c.jpg"


def test_unwritable_and_full_output_folders_are_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"paths.runs_dir=.*a-file/runs: cannot write there"):
        check_writable(blocker / "runs")
    if os.geteuid() != 0:  # root writes through permission bits
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ConfigError, match="Permission denied"):
            check_writable(locked / "runs")
    free = shutil.disk_usage(tmp_path).free
    check_free_space(tmp_path, free // 2)
    with pytest.raises(ConfigError, match=r"MB free, but the checkpoints need about"):
        check_free_space(tmp_path, 2 * free + 10**9)


@pytest.mark.parametrize("resolution, allowed", [(30, "24 or 32"), (4, "8"), (0, "8"), (65, "64 or 72")])
def test_a_resolution_off_the_grid_names_the_allowed_values(resolution, allowed):
    check_resolution(64, 8)
    with pytest.raises(ConfigError, match=f"model.resolution={resolution}: .* multiple of 8 .*near it: {allowed}$"):
        check_resolution(resolution, 8)


@pytest.mark.parametrize("override, message", [
    ("model.resolution=30", "model.resolution=30: must be a positive multiple of 4"),
    ("data.on_error=ignore", "data.on_error='ignore': allowed values are raise, skip"),
    ("resume=/no/such.ckpt", "resume=/no/such.ckpt: no such file"),
])
def test_fit_refuses_what_cannot_work_in_one_line(tmp_path, monkeypatch, capsys, override, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *TINY_OVERRIDES, override])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"idiff: error: {message}" in err
    assert not list(tmp_path.glob("runs/fit/*/checkpoints"))


def test_an_unwritable_runs_dir_is_reported_before_hydra_creates_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "occupied").write_text("")
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *TINY_OVERRIDES, "paths.runs_dir=occupied/runs"])
    assert exit_info.value.code == 2
    assert "idiff: error: paths.runs_dir=occupied/runs: cannot write there" in capsys.readouterr().err


@pytest.mark.parametrize("workers", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_a_corrupt_training_image_is_one_line_or_a_counted_skip(tmp_path, monkeypatch, capsys, workers):
    from idiff_keypoints.synthetic import write_synthetic_coco

    monkeypatch.chdir(tmp_path)
    argv = [*TINY_OVERRIDES, f"data.num_workers={workers}", "task.synthetic=false",
            "~data.mixture", "+data.mixture={keypoints: 1.0}"]
    for split, n in (("train2017", 4), ("val2017", 1)):
        write_synthetic_coco(tmp_path / "data" / "keypoints", split, n)
    for image in sorted((tmp_path / "data" / "keypoints" / "train2017").glob("*.png"))[1:]:
        image.write_bytes(image.read_bytes()[:100])  # cut short, as by an interrupted copy
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *argv])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("idiff: error: ")]
    assert exit_info.value.code == 2 and "Traceback" not in err, err
    assert len(errors) == 1 and "train2017/" in errors[0] and "cannot read image" in errors[0], errors

    main(["fit", *argv, "data.on_error=skip"])  # the readable person is trained on; the others are counted
    out = capsys.readouterr().out
    assert "bad records skipped" in out and "cannot read image" in out
    (report,) = tmp_path.glob("runs/fit/*/skipped.json")
    assert all("cannot read image" in m for m in json.loads(report.read_text())["keypoints"])
