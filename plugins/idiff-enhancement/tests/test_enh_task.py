"""The three tasks end to end without Lightning, on synthetic data in the real layouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import RES
from idiff.tasks.api import EditSample, TaskContext
from skimage.metrics import peak_signal_noise_ratio
from torch.utils.data import DataLoader

from idiff_enhancement.deblur_task import DeblurConfig, DeblurTask
from idiff_enhancement.denoise_task import DenoiseConfig, DenoiseTask
from idiff_enhancement.images import read_rgb
from idiff_enhancement.task import EnhancementTask
from idiff_enhancement.watermark_task import WatermarkRemovalConfig, WatermarkRemovalTask


def _task(cls: type[EnhancementTask], root: Path, tmp_path: Path, **options: object) -> EnhancementTask:
    data = tmp_path / "data"
    shutil.copytree(root, data)
    return cls(cls.Config(data_dir=str(data), synthetic=False, **options), TaskContext(RES, data, seed=3))


@pytest.fixture(params=["denoise", "deblur", "watermark_removal"])
def task(request: pytest.FixtureRequest, tmp_path: Path) -> EnhancementTask:
    name = request.param
    root = request.getfixturevalue({"denoise": "sidd_root", "deblur": "deblur_root"}.get(name, "clwd_root"))
    cls = {"denoise": DenoiseTask, "deblur": DeblurTask, "watermark_removal": WatermarkRemovalTask}[name]
    return _task(cls, root, tmp_path)


def test_prepare_data_writes_each_layout_and_keeps_a_complete_one(tmp_path: Path) -> None:
    small = {"synthetic_train_images": 2, "synthetic_val_images": 1, "synthetic_image_size": 32}
    sidd = DenoiseTask(DenoiseConfig(**small), TaskContext(32, tmp_path / "s"))
    sidd.prepare_data()
    assert len(list((tmp_path / "s/SIDD_Medium_Srgb/Data").glob("*/*_NOISY_SRGB_01?.PNG"))) == 2
    assert (tmp_path / "s/SIDD_Validation_sRGB/ValidationGtBlocksSrgb.mat").is_file()
    stamp = (tmp_path / "s/SIDD_Medium_Srgb").stat().st_mtime_ns
    sidd.prepare_data()
    assert (tmp_path / "s/SIDD_Medium_Srgb").stat().st_mtime_ns == stamp  # complete: left alone
    blur = DeblurTask(DeblurConfig(**small, weights={"gopro": 0.0, "reds": 1.0}, eval_dataset="reds"),
                      TaskContext(32, tmp_path / "d"))  # fmt: skip
    blur.prepare_data()
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["REDS"]  # GoPro is not used: not written
    assert len(list((tmp_path / "d/REDS/train/train_blur").glob("*/*.png"))) == 2
    (tmp_path / "w/.CLWD.partial").mkdir(parents=True)  # an interrupted earlier run
    WatermarkRemovalTask(WatermarkRemovalConfig(**small), TaskContext(32, tmp_path / "w")).prepare_data()
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["CLWD"]
    assert len(list((tmp_path / "w/CLWD/test/Watermarked_image").glob("*.jpg"))) == 1
    assert not list(tmp_path.rglob("*.tmp"))


def test_train_samples(task: EnhancementTask) -> None:
    ds = task.train_dataset()
    weights = task.config.weights
    assert len(ds) == sum(max(1, round(weights[n] * len(task.pairs(n, True)))) for n in task.config.used_datasets)
    quality = []
    for i in range(12):
        s = ds[i % len(ds)]
        assert isinstance(s, EditSample) and s.source.shape == s.target.shape == (RES, RES, 3)
        assert s.source.dtype == s.target.dtype == np.uint8 and s.instruction in task.templates
        quality.append(peak_signal_noise_ratio(s.target, s.source))
    assert min(quality) > 12 and np.median(quality) < 45  # aligned crops, and degraded ones
    batch = min(3, len(ds))
    assert len(next(iter(DataLoader(ds, batch_size=batch, collate_fn=list)))) == batch


def test_requests_decode_evaluate(task: EnhancementTask, tmp_path: Path) -> None:
    reqs = task.test_requests()
    pairs = task.pairs(task.eval_dataset, False)
    assert {r.meta["item"] for r in reqs} == set(range(len(pairs)))
    assert all(r.source.shape == r.target.shape == (RES, RES, 3) for r in reqs)
    assert len({r.instruction for r in reqs if r.meta["item"] == 0}) == 1  # one instruction per image
    perfect = task.evaluate(reqs, [task.decode(r.target, r) for r in reqs], tmp_path / "perfect")
    assert perfect == {"PSNR": 100.0, "SSIM": pytest.approx(1.0, abs=1e-4)}  # float32 SSIM
    restored = sorted((tmp_path / "perfect" / "restored").glob("*.png"))
    assert len(restored) == len(pairs)
    np.testing.assert_array_equal(read_rgb(restored[0]), pairs[0].load()[1])  # stitched back at full size
    identity = task.evaluate(reqs, [task.decode(r.source, r) for r in reqs], tmp_path / "identity")
    expected = np.mean([peak_signal_noise_ratio(c, d, data_range=255) for d, c in (p.load() for p in pairs)])
    assert identity["PSNR"] == pytest.approx(expected, abs=1e-4) and identity["SSIM"] < 0.999
    rows = json.loads((tmp_path / "identity" / "per_image.json").read_text())
    assert [r["name"] for r in rows] == [p.name for p in pairs] and set(rows[0]) == {"name", "PSNR", "SSIM"}
    with pytest.raises(ValueError, match="tiles were scored"):
        task.evaluate(reqs[1:], [r.target for r in reqs[1:]], tmp_path / "missing")


def test_tiles_and_whole_image_cap(tmp_path: Path, deblur_root: Path) -> None:
    task = _task(DeblurTask, deblur_root, tmp_path)
    reqs = task.test_requests()
    per_image = 3 * 2  # 64 x 36 frames, 32 px tiles with 4 px overlap: x at 0, 16, 32; y at 0, 4
    assert len(reqs) == 3 * per_image and reqs[0].meta["size"] == [36, 64]
    assert [r.meta["box"] for r in reqs[:per_image]] == [[0, 0], [0, 16], [0, 32], [4, 0], [4, 16], [4, 32]]
    task.config.max_test_requests = per_image + 1
    assert len(task.test_requests()) == per_image  # whole images only
    task.config.max_test_requests = 2
    assert len(task.test_requests()) == per_image  # the first image is kept whole
    view = task.render(reqs[0], reqs[0].target)
    assert view.shape == reqs[0].source.shape and view.dtype == np.uint8 and view.max() > 0
    assert not task.render(reqs[0], reqs[0].source).any()  # unchanged: black


def test_deblur_trains_on_both_datasets_and_evaluates_the_chosen_one(tmp_path: Path, deblur_root: Path) -> None:
    task = _task(DeblurTask, deblur_root, tmp_path, eval_dataset="reds")
    assert task.train_dataset().describe().splitlines() == [
        "gopro: 6 pairs x weight 2 = 12 samples",
        "reds: 4 pairs x weight 0.2 = 1 samples",
    ]
    assert {r.meta["name"] for r in task.test_requests()} == {"000/00000000", "000/00000001"}
    gamma = _task(DeblurTask, deblur_root, tmp_path / "gamma", gopro_blur_folder="blur_gamma")
    a, b = task.pairs("gopro", True)[0].load()[0], gamma.pairs("gopro", True)[0].load()[0]
    assert not np.array_equal(a, b)
