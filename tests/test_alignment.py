"""Stage 3, human alignment: candidates under 20 guidance settings (resumable, reproducible), picks, fine-tuning."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from idiff.alignment.candidates import guidance_grid
from idiff.alignment.picks import picked_edits, read_picks
from idiff.checkpoints import export_weights, load_module
from idiff.cli import main
from idiff.errors import ConfigError, DataError
from idiff.module import DiffusionModule
from idiff.testing.pytest_plugin import TINY_OVERRIDES


@pytest.fixture
def tiny_argv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return [*TINY_OVERRIDES, "task.synthetic_train_images=4", "task.synthetic_val_images=2"]


@pytest.fixture
def weights(idiff_config, tmp_path):
    cfg = idiff_config("fit")
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    return export_weights(DiffusionModule(**plain, seed=0), tmp_path / "stage2.safetensors", half=False)


def test_default_grid_is_the_papers_20_settings():
    cfg = OmegaConf.load(str(resources.files("idiff.conf").joinpath("stage", "human_alignment.yaml")))
    grid = guidance_grid(list(cfg.generate.text_scales), list(cfg.generate.image_scales))
    assert len(grid) == 20 and len(set(grid)) == 20
    with pytest.raises(ConfigError, match="image_scales"):
        guidance_grid([5.0], [-1.0])


def test_generate_writes_candidates_resumes_and_each_candidate_is_reproducible(tiny_argv, weights, tmp_path):
    benchmark = tmp_path / "benchmark"
    benchmark.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(benchmark / f"{name}.png")
    out = tmp_path / "alignment"
    argv = ["align", "generate", *tiny_argv, f"ckpt={weights}", f"input={benchmark}", "instruction=make it red",
            f"stage.generate.out_dir={out}", "stage.generate.max_images=2"]
    main(argv)
    records = [json.loads(line) for line in (out / "candidates.jsonl").read_text().splitlines()]
    assert [r["image"] for r in records] == ["000000", "000001"]
    record = records[0]
    assert len(record["candidates"]) == 20
    assert {(c["text_scale"], c["image_scale"]) for c in record["candidates"]} == set(
        guidance_grid([3.0, 5.0, 7.5, 10.0, 12.5], [0.5, 1.0, 1.5, 2.0]))
    assert len({c["seed"] for c in record["candidates"]}) == 1  # one image, one seed: only guidance differs
    for candidate in record["candidates"]:
        assert np.asarray(Image.open(out / candidate["path"])).shape == (32, 32, 3)
    pixels = {c["path"]: np.asarray(Image.open(out / c["path"])) for c in record["candidates"]}
    assert len({p.tobytes() for p in pixels.values()}) > 1

    # any one candidate alone, from its seed and scales
    module = load_module(weights)
    module.use_ema_weights()
    source = torch.from_numpy(np.array(Image.open(out / record["source"]))).permute(2, 0, 1)[None] / 127.5 - 1
    chosen = record["candidates"][13]
    alone = module.eval().generate(source.float(), [record["instruction"]], chosen["text_scale"],
                                   chosen["image_scale"], generator=[torch.Generator().manual_seed(chosen["seed"])])
    again = ((alone.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert np.abs(again.astype(int) - pixels[chosen["path"]].astype(int)).max() <= 1

    # resume: the first two images are kept as they are, one more is added
    written = (out / record["candidates"][0]["path"]).stat().st_mtime_ns
    main([*argv[:-1], "stage.generate.max_images=3"])
    records = [json.loads(line) for line in (out / "candidates.jsonl").read_text().splitlines()]
    assert [r["image"] for r in records] == ["000000", "000001", "000002"]
    assert (out / record["candidates"][0]["path"]).stat().st_mtime_ns == written


def _write_candidates(folder, images=2, candidates=3):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(images):
        image = f"{i:06d}"
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{image}-source.png")
        entries = []
        for k in range(candidates):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{image}-{k}.png")
            entries.append({"path": f"{image}-{k}.png", "text_scale": 5.0, "image_scale": 1.0, "seed": 7})
        lines.append(json.dumps({"image": image, "source": f"{image}-source.png", "instruction": f"edit {i}",
                                 "candidates": entries}))
    (folder / "candidates.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "candidates.jsonl"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"image": "000000", "picks": [0, 1, 2]}', r"picks.jsonl:2: 'picks' holds 0 to 2 distinct indices"),
        ('{"image": "000000", "picks": [1, 1]}', r"picks.jsonl:2: 'picks' holds 0 to 2 distinct indices"),
        ('{"image": "000000", "picks": [5]}', r"picks.jsonl:2: pick 5 of image '000000', which has 3 candidates"),
        ('{"image": "000009", "picks": [0]}', r"picks.jsonl:2: image '000009' is not in .*candidates.jsonl"),
        ('{"image": "000000", "picks": "0"}', r"picks.jsonl:2: field 'picks' must be a list"),
        ('{"image": "000000", "picks": [0]', r"picks.jsonl:2: not valid JSON"),
    ],
)
def test_bad_picks_are_named_by_file_and_line(tmp_path, line, message):
    candidates = _write_candidates(tmp_path / "alignment")
    picks = tmp_path / "picks.jsonl"
    picks.write_text('{"image": "000001", "picks": []}\n' + line + "\n")
    with pytest.raises(DataError, match=message):
        picked_edits(candidates, picks)


def test_picks_become_samples_and_the_last_record_of_an_image_counts(tmp_path):
    candidates = _write_candidates(tmp_path / "alignment")
    picks = tmp_path / "picks.jsonl"
    picks.write_text('{"image": "000000", "picks": [0]}\n{"image": "000001", "picks": []}\n'
                     '{"image": "000000", "picks": [2, 1]}\n')
    assert read_picks(picks)["000000"] == (3, [2, 1])
    edits = picked_edits(candidates, picks)
    assert [(e.instruction, e.target.name, e.source.name) for e in edits] == [
        ("edit 0", "000000-2.png", "000000-source.png"), ("edit 0", "000000-1.png", "000000-source.png")]


def test_fit_on_picks_runs_its_epochs_with_ema_0_99(tiny_argv, weights, tmp_path):
    candidates = _write_candidates(tmp_path / "alignment", images=3)
    picks = tmp_path / "picks.jsonl"
    picks.write_text('{"image": "000000", "picks": [0, 2]}\n{"image": "000001", "picks": [1]}\n'
                     '{"image": "000002", "picks": [0]}\n')
    main(["fit", *tiny_argv, "stage=human_alignment", f"init_weights={weights}", f"stage.candidates={candidates}",
          f"stage.picks={picks}", "stage.epochs=2", "data.batch_size=2"])
    (last,) = tmp_path.glob("runs/fit/*/checkpoints/last.ckpt")
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == 2 * (4 // 2)  # 4 picks, batch 2, 2 epochs (trainer.max_steps=2 ignored)
    assert checkpoint["hyper_parameters"]["stage"]["ema_decay"] == 0.99
    assert checkpoint["ema"]["decay"] == 0.99


def test_alignment_without_picks_says_which_key(tiny_argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *tiny_argv, "stage=human_alignment"])
    assert exit_info.value.code == 2
    assert "stage=human_alignment needs stage.candidates=" in capsys.readouterr().err
