"""End to end through the CLI entry: `idiff fit` for a few steps, then `idiff test task=keypoints` on its checkpoint."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from idiff.cli import main
from idiff.testing.pytest_plugin import TINY_OVERRIDES


@pytest.fixture
def tiny_argv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return [*TINY_OVERRIDES, "task.synthetic_train_images=8", "task.synthetic_val_images=2"]


@pytest.mark.parametrize("prediction", ["epsilon", pytest.param("sample", marks=pytest.mark.slow)])
def test_fit_then_test_writes_checkpoint_metrics_and_grid(tiny_argv, tmp_path, prediction, capsys):
    # epsilon: SD's parameterisation with min-SNR weighting; sample: EDM-preconditioned x0 from a zero-initialised UNet
    objective = ["stage.snr_gamma=5.0"]
    if prediction == "sample":
        objective = ["stage.snr_gamma=null", "model.preconditioning=edm", "model.zero_init_residuals=true"]
    main(["fit", *tiny_argv, f"model.noise_schedule.prediction_type={prediction}", *objective])
    checkpoints = list(tmp_path.glob("runs/fit/*/checkpoints/last.ckpt"))
    assert len(checkpoints) == 1
    assert (checkpoints[0].parent.parent / "config.yaml").is_file()
    assert "score it with `idiff test task=<name>`, <name> one of: keypoints" in capsys.readouterr().out

    main(["test", "task=keypoints", *tiny_argv])
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("┃ metric"))
    assert "generated" in header and "identity" in header  # one row per metric, its baseline beside it
    assert any(line.split("│")[1].strip() == "AP" for line in out.splitlines() if line.count("│") == 4)
    test_dirs = list(tmp_path.glob("runs/test/*"))
    assert len(test_dirs) == 1
    report = json.loads((test_dirs[0] / "metrics.json").read_text())
    assert report["task"] == "keypoints"
    assert report["checkpoint"] == str(checkpoints[0].resolve())
    assert 0.0 <= report["metrics"]["AP"] <= 1.0
    assert report["metrics"]["identity/AP"] <= 0.05  # an unchanged image carries no keypoints
    assert (test_dirs[0] / "grid.png").is_file()
    results = json.loads((test_dirs[0] / "keypoints_results.json").read_text())
    assert all(len(r["keypoints"]) == 17 * 3 for r in results)

    main(["test", "task=keypoints", *tiny_argv, "-m", "seed=0,1"])  # a sweep, its flag after the overrides
    swept = sorted(tmp_path.glob("runs/test-multirun/*/*/metrics.json"))
    assert [p.parent.name for p in swept] == ["0", "1"]

    images = tmp_path / "inputs"
    images.mkdir()
    for name in ("a.png", "b.jpg"):
        Image.new("RGB", (48, 40), (200, 30, 30)).save(images / name)
    main(["predict", *tiny_argv, f"input={images}", 'instruction="Circle the nose of the people in red, "'])
    written = sorted(p.name for p in tmp_path.glob("runs/predict/*/predictions/*.png"))
    assert written == ["a.png", "b.png"]
    assert Image.open(tmp_path.glob("runs/predict/*/predictions/a.png").__next__()).size == (32, 32)


def test_test_without_a_fit_run_says_what_to_do(tiny_argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["test", "task=keypoints", *tiny_argv])
    assert exit_info.value.code == 2
    assert "run `idiff fit` first" in capsys.readouterr().err


@pytest.mark.slow
def test_ddp_fit_with_two_cpu_processes_writes_one_checkpoint(tiny_argv, tmp_path):
    import subprocess
    import sys

    # A subprocess: Lightning's DDP launcher re-runs the command line, which must be idiff's, not pytest's.
    argv = [sys.executable, "-m", "idiff.cli", "fit", "strategy=ddp", "trainer.devices=2", *tiny_argv]
    subprocess.run(argv, cwd=tmp_path, check=True, capture_output=True, timeout=600)
    assert len(list(tmp_path.glob("runs/fit/*/checkpoints/last.ckpt"))) == 1


def test_a_plugins_data_error_is_one_line_naming_the_file(tiny_argv, tmp_path, capsys):
    # Plugins raise idiff.tasks.api.DataError subclasses; the CLI prints them as one line, not a traceback.
    annotations = tmp_path / "data" / "keypoints" / "annotations"
    annotations.mkdir(parents=True)
    for split in ("train2017", "val2017"):
        (annotations / f"person_keypoints_{split}.json").write_text('{"images": [], "annotations": [')
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *tiny_argv, "~data.mixture", "+data.mixture={keypoints: 1.0}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("idiff: error: ")]
    assert len(errors) == 1 and "person_keypoints_train2017.json: not valid JSON" in errors[0]
