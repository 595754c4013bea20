"""The editing task built as a run builds it: weighted training samples, requests, scores, files, options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from idiff.errors import ConfigError, DataError
from PIL import Image

from idiff_editing.synthetic import write_synthetic_ip2p

SMALL = {"synthetic_train_images": 4, "synthetic_val_images": 3, "synthetic_image_size": 48}


def _manifest(folder: Path, count: int) -> Path:
    lines = []
    for k in range(count):
        for side, value in (("0", 40 * k), ("1", 40 * k + 20)):
            Image.fromarray(np.full((40, 56, 3), value, np.uint8)).save(folder / f"{k}_{side}.png")
        lines.append(json.dumps({"source": f"{k}_0.png", "target": f"{k}_1.png", "instruction": f"brighten {k}"}))
    path = folder / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_training_samples_are_weighted_per_dataset(idiff_task, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, 2)
    task = idiff_task("editing", **SMALL, weights={"synthetic": 2.5, "manifest": 0.5}, manifest=str(manifest))
    data = task.train_dataset()
    assert len(data) == 10 + 1
    assert data.describe().splitlines() == [
        "synthetic: 4 pairs x weight 2.5 = 10 samples", "manifest: 2 pairs x weight 0.5 = 1 samples",
    ]
    synthetic = {p.instruction for p in task.pairs("synthetic", True)}
    for index in range(len(data)):
        sample = data[index]
        assert sample.source.shape == sample.target.shape == (32, 32, 3) and sample.source.dtype == np.uint8
        assert sample.instruction in (synthetic if index < 10 else {"brighten 0", "brighten 1"})
    rng = np.random.default_rng(0)
    assert [data.locate(i, rng)[1].name for i in range(10)] == [f"{k % 4:07d}" for k in range(10)]


def test_target_scores_zero_and_the_source_does_not(idiff_task, tmp_path: Path, capsys) -> None:
    task = idiff_task("editing", **SMALL)
    requests = task.test_requests()
    assert len(requests) == 3 and all(r.source.shape == (32, 32, 3) for r in requests)
    assert requests[0].instruction == task.pairs("synthetic", False)[0].instruction
    perfect = task.evaluate(requests, [task.decode(r.target, r) for r in requests], tmp_path / "run")
    assert perfect == {"L1": 0.0, "L2": 0.0}
    copied = task.evaluate(requests, [task.decode(r.source, r) for r in requests], tmp_path / "identity")
    expected = np.mean([np.abs(r.source / 255.0 - r.target / 255.0).mean() for r in requests])
    assert copied["L1"] == pytest.approx(expected) and copied["L2"] > 0
    rows = json.loads((tmp_path / "run" / "per_image.json").read_text())
    assert [r["name"] for r in rows] == ["0000000", "0000001", "0000002"]
    assert len(list((tmp_path / "run" / "edited").glob("*.png"))) == 3
    printed = capsys.readouterr().out
    assert "set task.clip_model=PATH" in printed and "set task.aesthetic_predictor=PATH" in printed
    assert task.evaluate(requests[:1], [requests[0].target], tmp_path / "again") and capsys.readouterr().out == ""


def test_clip_and_aesthetic_scores_when_configured(idiff_task, idiff_tiny_clip, tmp_path: Path) -> None:
    import torch
    from idiff.quality.aesthetic import AestheticPredictor

    torch.manual_seed(0)
    torch.save(AestheticPredictor(16).state_dict(), tmp_path / "mlp.pth")
    scorers = {"clip_model": str(idiff_tiny_clip), "aesthetic_predictor": str(tmp_path / "mlp.pth")}
    task = idiff_task("editing", **SMALL, **scorers)
    requests = task.test_requests()
    metrics = task.evaluate(requests, [r.target for r in requests], tmp_path / "run")
    assert set(metrics) == {"L1", "L2", "CLIP-I", "CLIP-T", "CLIP-dir", "aesthetic"}
    assert metrics["CLIP-I"] == pytest.approx(1.0, abs=1e-5) and -1 <= metrics["CLIP-T"] <= 1
    rows = json.loads((tmp_path / "run" / "per_image.json").read_text())
    assert all(np.isfinite(r["aesthetic"]) for r in rows)


def test_pairs_without_captions_say_why_clip_t_is_missing(idiff_task, idiff_tiny_clip, tmp_path: Path, capsys) -> None:
    manifest = _manifest(tmp_path, 2)
    task = idiff_task("editing", synthetic=False, weights={"synthetic": 0.0, "manifest": 1.0}, manifest=str(manifest),
                      eval_dataset="manifest", eval_manifest=str(manifest), clip_model=str(idiff_tiny_clip))
    requests = task.test_requests()
    metrics = task.evaluate(requests, [r.target for r in requests], tmp_path / "run")
    assert set(metrics) == {"L1", "L2", "CLIP-I"}
    assert "CLIP-T, CLIP-dir not computed: the evaluation pairs have no captions" in capsys.readouterr().out


def test_ip2p_and_magicbrush_folders_are_read_from_data_dir(idiff_task, tmp_path: Path) -> None:
    write_synthetic_ip2p(tmp_path / "ip2p", 20, size=40)
    task = idiff_task("editing", synthetic=False, weights={"synthetic": 0.0, "ip2p": 1.0}, eval_dataset="ip2p",
                      ip2p_dir=str(tmp_path / "ip2p"), ip2p_eval_split="val")
    assert len(task.train_dataset()) == 18 and len(task.test_requests()) == 1
    assert not (task.data_dir / "synthetic").exists()
    task = idiff_task("editing", synthetic=False, weights={"synthetic": 0.0, "magicbrush": 1.0})
    with pytest.raises(DataError, match=r"MagicBrush/train/edit_sessions.json: not found"):
        task.train_dataset()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weights": {"gier": 1.0}}, "weights: unknown dataset 'gier'; known: synthetic, ip2p, magicbrush, manifest"),
        ({"weights": {"synthetic": 0.0}}, "give at least one dataset a weight > 0"),
        ({"weights": {"manifest": 1.0}}, r"weights.manifest > 0 needs manifest=<your pairs.jsonl>"),
        ({"eval_dataset": "manifest"}, "eval_dataset=manifest needs eval_manifest"),
        ({"eval_dataset": "coco"}, "eval_dataset must be one of synthetic, ip2p, magicbrush, manifest"),
        ({"aesthetic_predictor": "mlp.pth"}, "aesthetic_predictor needs clip_model"),
        ({"ip2p_fractions": [0.5, 0.5, 0.5]}, "ip2p_fractions must be 3 numbers"),
    ],
)
def test_bad_options_name_the_key(idiff_task, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        idiff_task("editing", **options)


def test_a_missing_clip_folder_is_a_config_error(idiff_task, tmp_path: Path) -> None:
    task = idiff_task("editing", **SMALL, clip_model=str(tmp_path / "no-clip"))
    requests = task.test_requests()
    with pytest.raises(ConfigError, match=r"task.clip_model=.*no-clip: not a local CLIP folder"):
        task.evaluate(requests, [r.target for r in requests], tmp_path / "run")
