"""Checkpoints: compact safetensors export round trip, weights-only loading, latest-run discovery, atomic writes."""

from __future__ import annotations

import os
import pickle
import time

import pytest
import torch
from omegaconf import OmegaConf

from idiff.checkpoint_io import AtomicCheckpointIO, is_complete_checkpoint
from idiff.checkpoints import export_weights, find_latest_checkpoint, init_weights, load_module, resolve_checkpoint
from idiff.errors import ConfigError, TrainingError
from idiff.module import DiffusionModule


@pytest.fixture
def module(idiff_config) -> DiffusionModule:
    cfg = idiff_config("fit")
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    module = DiffusionModule(**plain, seed=0)
    with torch.no_grad():  # make the EMA differ from the raw weights
        for p in module.unet.parameters():
            p.add_(0.01)
    return module


def test_export_then_load_gives_the_ema_unet_and_same_generation(module, tmp_path):
    path = export_weights(module, tmp_path / "w.safetensors", half=False)
    loaded = load_module(path)
    module.use_ema_weights()
    for (name, a), b in zip(module.unet.state_dict().items(), loaded.unet.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    source = torch.rand(2, 3, 32, 32) * 2 - 1
    args = (source, ["Circle the nose of the people with the color red, "] * 2, 6.0, 0.5)
    module.eval(), loaded.eval()
    torch.testing.assert_close(
        module.generate(*args, generator=torch.Generator().manual_seed(0)),
        loaded.generate(*args, generator=torch.Generator().manual_seed(0)),
    )


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_checkpoint_that_would_execute_code_is_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    with open(path, "wb") as handle:
        pickle.dump({"state_dict": {}, "hyper_parameters": Exploit()}, handle)
    with pytest.raises(ConfigError, match="weights-only"):
        load_module(path)


def _fake_run(runs_dir, name, age, data=None):
    ckpt = runs_dir / "fit" / name / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    if data is None:
        torch.save({"state_dict": {"w": torch.ones(64)}}, ckpt)
    else:
        ckpt.write_bytes(data)
    os.utime(ckpt, (time.time() + age, time.time() + age))
    return ckpt


def test_latest_checkpoint_is_the_newest_fit_run(tmp_path):
    assert find_latest_checkpoint(tmp_path) is None
    for i, name in enumerate(["2026-01-01_00-00-00", "2026-01-02_00-00-00"]):
        _fake_run(tmp_path, name, i)
    assert find_latest_checkpoint(tmp_path).parts[-3] == "2026-01-02_00-00-00"
    with pytest.raises(ConfigError, match="no such file"):
        resolve_checkpoint(str(tmp_path / "missing.ckpt"), tmp_path)


def test_init_weights_starts_from_the_file_and_restarts_the_ema(module, idiff_config, tmp_path):
    path = export_weights(module, tmp_path / "w.safetensors", half=False)
    cfg = idiff_config("fit")
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    fresh = DiffusionModule(**plain, seed=1)
    init_weights(fresh, path)
    module.use_ema_weights()
    for (name, a), b in zip(module.state_dict().items(), fresh.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    for shadow, p in zip(fresh.ema.shadow_params, fresh.unet.parameters(), strict=True):
        torch.testing.assert_close(shadow, p)


def test_init_weights_of_another_architecture_names_the_file(module, idiff_config, tmp_path):
    path = export_weights(module, tmp_path / "w.safetensors", half=False)
    cfg = idiff_config("fit", "model.unet.block_out_channels=[32,32]")
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    with pytest.raises(ConfigError, match=r"init_weights=.*w\.safetensors: weights do not fit"):
        init_weights(DiffusionModule(**plain, seed=0), path)


def test_init_weights_lets_a_zero_start_source_filter_join_but_no_other_new_part(module, idiff_config, tmp_path):
    plain_path = export_weights(module, tmp_path / "plain.safetensors", half=False)
    cfg = idiff_config("fit", "model.source_filter={kernel_size: 3}")
    with_filter = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    fresh = DiffusionModule(**with_filter, seed=1)
    init_weights(fresh, plain_path)  # the filter is absent from the file: it keeps its zero start
    module.use_ema_weights()
    for name, value in module.unet.state_dict().items():
        torch.testing.assert_close(fresh.unet.state_dict()[name], value, msg=name)
    assert all(not p.any() for p in fresh.source_filter.parameters())

    with torch.no_grad():  # the other way round: a file with a part the configured model lacks is refused
        next(fresh.source_filter.parameters()).add_(1.0)
    filter_path = export_weights(fresh, tmp_path / "filter.safetensors", half=False)
    cfg = idiff_config("fit")
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    with pytest.raises(ConfigError, match=r"filter\.safetensors: weights do not fit .*unexpected 'source_filter\."):
        init_weights(DiffusionModule(**plain, seed=0), filter_path)


def test_a_torn_checkpoint_is_never_the_latest(tmp_path, capsys):
    whole = _fake_run(tmp_path, "2026-01-01_00-00-00", 0)
    data = whole.read_bytes()
    for cut in (len(data) // 2, len(data) - 1, 10, 0):  # a write killed part-way, in place
        torn = _fake_run(tmp_path, f"2026-01-02_{cut:08d}", 10, data[:cut])
        assert not is_complete_checkpoint(torn)
        assert find_latest_checkpoint(tmp_path) == whole
        assert str(torn) in capsys.readouterr().err


def test_checkpoint_io_writes_whole_files_only(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": 1, "w": torch.arange(10.0)}, path)
    assert is_complete_checkpoint(path) and torch.load(path, weights_only=True)["step"] == 1

    def crash(*args):  # the process dies after writing the temporary file, before the rename
        raise KeyboardInterrupt

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(TrainingError, match="a-file/last.ckpt: checkpoint not written .*previous checkpoint is intact"):
        io.save_checkpoint({"step": 2}, blocker / "last.ckpt")

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2, "w": torch.arange(10.0)}, path)
    assert torch.load(path, weights_only=True)["step"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_a_resumed_run_takes_its_weights_from_the_checkpoint_not_init_weights(idiff_fit_tiny, tmp_path, capsys):
    small = ("task.synthetic_train_images=4", "task.synthetic_val_images=2")
    last = idiff_fit_tiny("keypoints", *small)
    saved = tmp_path / "saved.ckpt"
    saved.write_bytes(last.read_bytes())
    capsys.readouterr()
    # the default sets init_weights=reference, which a resumed run must not load over its own weights: a file that
    # does not exist shows whether it is read at all
    idiff_fit_tiny("keypoints", *small, f"resume={saved}", "trainer.max_steps=3",
                   f"init_weights={tmp_path / 'no-such.safetensors'}")
    assert "starting from the weights" not in capsys.readouterr().out
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == 3
