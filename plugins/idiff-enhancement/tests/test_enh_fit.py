"""Through the core: fit a tiny model on the enhancement tasks, then test one; the table has the identity baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SMALL = ["task.synthetic_train_images=4", "task.synthetic_val_images=2", "task.synthetic_image_size=48"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["denoise", "deblur", "watermark_removal"])
def test_fit_then_test_prints_psnr_beside_identity(idiff_config, tmp_path: Path, name: str) -> None:
    from idiff.workflows import evaluate, fit

    alone = ["~data.mixture", f"+data.mixture={{{name}: 1.0}}"]
    last = fit(idiff_config("fit", f"task={name}", *alone, *SMALL), tmp_path / "fit")
    metrics = evaluate(idiff_config("test", f"task={name}", f"ckpt={last}", *SMALL), tmp_path / "test")
    assert {"PSNR", "SSIM", "identity/PSNR", "identity/SSIM"} <= set(metrics)
    written = json.loads((tmp_path / "test" / "metrics.json").read_text())
    assert written["metrics"] == pytest.approx(metrics) and written["guidance"] == {"text": 1.0, "image": 1.0}
    assert (tmp_path / "test" / "grid.png").is_file() and (tmp_path / "test" / "per_image.json").is_file()
    assert len(list((tmp_path / "test" / "restored").glob("*.png"))) == 2
