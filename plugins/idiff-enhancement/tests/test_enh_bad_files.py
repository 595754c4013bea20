"""A truncated or unreadable file is reported naming the file: by the readers, the tasks and the CLI (one line)."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from idiff.tasks.api import TaskContext
from PIL import Image

from idiff_enhancement.denoise_task import DenoiseConfig, DenoiseTask
from idiff_enhancement.images import EnhancementDataError, read_rgb
from idiff_enhancement.sidd import load_sidd_blocks


def _encoded(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cut.png", _encoded("PNG")[:400]),
        ("cut.jpg", _encoded("JPEG")[:600]),
        ("empty.png", b""),
        ("text.png", b"this is not an image\n"),
    ],
)
def test_a_broken_image_names_the_file(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(EnhancementDataError, match=rf"^{tmp_path / name}: unreadable image \("):
        read_rgb(tmp_path / name)
    with pytest.raises(EnhancementDataError, match=r"nothing\.png: image file not found"):
        read_rgb(tmp_path / "nothing.png")


def test_a_truncated_mat_file_names_the_file(sidd_root: Path, tmp_path: Path) -> None:
    gt = sidd_root / "SIDD_Validation_sRGB" / "ValidationGtBlocksSrgb.mat"
    cut = tmp_path / "ValidationNoisyBlocksSrgb.mat"
    cut.write_bytes(gt.read_bytes()[:300])
    with pytest.raises(EnhancementDataError, match=rf"{cut}: not a readable MATLAB file"):
        load_sidd_blocks(cut, gt)


def test_the_task_names_a_truncated_training_image(sidd_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(sidd_root, root)
    bad = sorted((root / "SIDD_Medium_Srgb" / "Data").rglob("*_NOISY_SRGB_010.PNG"))[0]
    bad.write_bytes(bad.read_bytes()[:200])
    config = DenoiseConfig(data_dir=str(root), synthetic=False, weights={"sidd": 1.0})
    dataset = DenoiseTask(config, TaskContext(32, root)).train_dataset()
    with pytest.raises(EnhancementDataError, match=rf"{bad}: unreadable image"):
        for index in range(len(dataset)):
            dataset[index]


def test_the_cli_prints_one_line_naming_the_file(sidd_root: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from idiff.cli import main
    from idiff.testing.pytest_plugin import TINY_OVERRIDES

    monkeypatch.chdir(tmp_path)
    shutil.copytree(sidd_root, tmp_path / "data" / "denoise")
    for bad in (tmp_path / "data" / "denoise").rglob("*_NOISY_SRGB_*.PNG"):  # whichever the sampler draws first
        bad.write_bytes(bad.read_bytes()[:100])
    mixture = ["~data.mixture", "+data.mixture={denoise: 1.0}"]
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *TINY_OVERRIDES, *mixture, "task=denoise", "task.synthetic=false"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("idiff: error: ")]
    assert "Traceback" not in err and len(errors) == 1
    assert re.search(r"Data/[^ ]+_NOISY_SRGB_01[01]\.PNG: unreadable image \(", errors[0]), errors
