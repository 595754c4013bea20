"""The learned decoders (idiff.decoders): network, degradation, training through `idiff fit stage=decoder`, reading.

The decoders train here for a few dozen steps on the tiny config (32 px, timm's ``test_efficientnet`` backbone) and
are scored by the tasks' own evaluators (COCOeval / PCK for keypoints, IoU for masks) on *held-out* degraded
targets, against what guessing scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from safetensors.torch import save_file

from idiff.checkpoints import resolve_checkpoint
from idiff.decoders.degradation import Degradation
from idiff.decoders.learned import evaluation_decoders, load_decoder, resolve_decoder_checkpoint
from idiff.decoders.network import DecoderNet
from idiff.errors import ConfigError
from idiff.tasks.factory import build_task
from idiff.workflows import fit

TINY_DECODER = ["stage=decoder", "stage.backbone=test_efficientnet", "stage.widths=[32,16]", "stage.batch_size=16",
                "stage.optimizer.lr=3e-3"]
KEYPOINT_DATA = ["task.synthetic_train_images=40", "task.synthetic_val_images=4", "task.synthetic_image_size=64"]
REFERRING_DATA = ["task.synthetic_train_images=24", "task.synthetic_val_images=6"]


@pytest.fixture
def one_thread():
    """A network this small runs fastest on one thread (two threads on a busy 2-core machine spin-wait)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _off() -> Degradation:
    return Degradation(p_warp=0, p_strength=0, p_mark_tint=0, p_blobs=0, p_tint=0, p_blur=0, p_noise=0)


def _disk_batch(size: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disk = (((xx - 12.0) ** 2 + (yy - 18.0) ** 2) <= 9).float()
    source = torch.full((1, 3, size, size), 0.4)
    target = source.clone()
    target[:, 0] = torch.where(disk > 0, 1.0, 0.4)
    label = torch.exp(-((xx - 12.0) ** 2 + (yy - 18.0) ** 2) / 4.0)[None, None]
    return source, target, label


def _centroid(weights: torch.Tensor) -> np.ndarray:
    w = weights.double()
    yy, xx = torch.meshgrid(torch.arange(w.shape[-2]), torch.arange(w.shape[-1]), indexing="ij")
    return np.array([float((w * xx).sum() / w.sum()), float((w * yy).sum() / w.sum())])


def test_network_outputs_one_map_per_channel_at_the_input_size() -> None:
    net = DecoderNet(9, "test_efficientnet", [32, 16])
    for size in (32, 40):  # 40 is padded to the encoder's stride 32 and cropped back
        assert net(torch.rand(2, 6, size, size)).shape == (2, 9, size, size)


def test_unknown_backbone_and_missing_weights_file_are_config_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="stage.backbone=no_such_net"):
        DecoderNet(1, "no_such_net")
    with pytest.raises(ConfigError, match="stage.backbone_weights=.*no such file"):
        DecoderNet(1, "test_efficientnet", backbone_weights=str(tmp_path / "missing.safetensors"))


def test_backbone_weights_come_from_a_local_file(tmp_path) -> None:
    torch.manual_seed(3)
    reference = timm.create_model("test_efficientnet", pretrained=False)
    path = tmp_path / "test_efficientnet.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    net = DecoderNet(1, "test_efficientnet", backbone_weights=str(path))
    loaded = dict(net.encoder.named_parameters())
    name = next(k for k in loaded if k.startswith("blocks.1") and k.endswith("weight"))
    assert torch.equal(loaded[name], reference.state_dict()[name])
    assert loaded["conv_stem.weight"].shape[1] == 6  # timm adapted the first convolution to 6 input channels


def test_degradation_with_every_step_off_only_rounds_to_8_bits() -> None:
    source, target, label = _disk_batch()
    out, moved = _off()(source, target, label, torch.Generator().manual_seed(0))
    assert torch.equal(out, torch.round(target * 255) / 255) and torch.equal(moved, label)


def test_degradation_moves_the_label_with_the_mark_and_keeps_it_readable() -> None:
    source, target, label = _disk_batch()
    shifted = Degradation(p_warp=1.0, shift=3.0, scale=0.0, rotation=0.0, p_strength=0, p_mark_tint=0, p_blobs=0,
                          p_tint=0, p_blur=0, p_noise=0)
    moves = []
    for seed in range(4):
        out, moved = shifted(source, target, label, torch.Generator().manual_seed(seed))
        mark_shift = _centroid((out - source).abs().sum(1)[0]) - _centroid((target - source).abs().sum(1)[0])
        label_shift = _centroid(moved[0, 0]) - _centroid(label[0, 0])
        assert np.allclose(mark_shift, label_shift, atol=0.15), (mark_shift, label_shift)
        moves.append(np.abs(label_shift).max())
    assert max(moves) > 0.5  # the warp did move the mark
    full = Degradation()
    out, _ = full(source.repeat(8, 1, 1, 1), target.repeat(8, 1, 1, 1), label.repeat(8, 1, 1, 1),
                  torch.Generator().manual_seed(0))
    red = out[:, 0] - out[:, 1]  # the disk is still the reddest place in most degraded samples
    peaks = [divmod(int(r.argmax()), 32) for r in red]
    assert sum(abs(y - 18) <= 3 and abs(x - 12) <= 3 for y, x in peaks) >= 6


def _degraded_targets(decoder, requests, seed: int = 123) -> list[np.ndarray]:
    """The test requests' encoded targets, degraded like generations (held out: the val split, a fresh seed)."""
    src = torch.stack([torch.from_numpy(r.source).permute(2, 0, 1).float() / 255 for r in requests])
    tgt = torch.stack([torch.from_numpy(r.target).permute(2, 0, 1).float() / 255 for r in requests])
    labels = torch.from_numpy(np.stack([decoder.decoding.label(r) for r in requests]))
    out, _ = decoder.module.degradation(src, tgt, labels, torch.Generator().manual_seed(seed))
    return [(o.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for o in out]


def _fit_decoder(idiff_config, task: str, steps: int, *data: str):
    cfg = idiff_config("fit", f"task={task}", *TINY_DECODER, f"trainer.max_steps={steps}", *data)
    run = Path(cfg.paths.runs_dir) / "fit" / f"decoder-{task}"
    checkpoint = fit(cfg, run)
    assert checkpoint == run / "checkpoints" / "decoder.ckpt" and checkpoint.is_file()
    built = build_task(task, cfg)
    return cfg, built, load_decoder(checkpoint, built, task)


def test_keypoint_decoder_trained_for_seconds_beats_chance_on_held_out_degraded_targets(
    idiff_config, one_thread, tmp_path
) -> None:
    cfg, task, decoder = _fit_decoder(idiff_config, "keypoints", 40, *KEYPOINT_DATA)
    requests = task.test_requests()
    degraded = _degraded_targets(decoder, requests)
    learned = task.evaluate(requests, decoder(degraded, requests), tmp_path / "learned")
    centre = task.evaluate(requests, [np.array([[15.5, 15.5, 1.0]] * len(r.meta["colours"])) for r in requests],
                           tmp_path / "centre")
    copied = task.evaluate(requests, decoder([r.source for r in requests], requests), tmp_path / "identity")
    assert learned["PCK@0.1"] > max(0.4, 3 * centre["PCK@0.1"]), (learned, centre)
    assert copied["PCK@0.1"] <= centre["PCK@0.1"] + 0.05  # nothing drawn: nothing (confidently) found
    # the checkpoint round trip gives the same maps
    again = load_decoder(resolve_decoder_checkpoint("latest", cfg.paths.runs_dir, "keypoints"), task, "keypoints")
    assert np.array_equal(again.maps(degraded[:4], [r.source for r in requests[:4]]),
                          decoder.maps(degraded[:4], [r.source for r in requests[:4]]))


def test_mask_decoder_trained_for_seconds_beats_empty_and_full_guesses(idiff_config, one_thread, tmp_path) -> None:
    _, task, decoder = _fit_decoder(idiff_config, "referring_segmentation", 40, *REFERRING_DATA)
    requests = task.test_requests()
    degraded = _degraded_targets(decoder, requests)
    learned = task.evaluate(requests, decoder(degraded, requests), tmp_path / "learned")
    full = task.evaluate(requests, [np.ones(r.source.shape[:2], bool) for r in requests], tmp_path / "full")
    assert learned["cIoU"] > max(0.3, 4 * full["cIoU"]), (learned, full)


def test_a_decoder_run_is_never_the_latest_diffusion_checkpoint_and_tasks_do_not_mix(tmp_path) -> None:
    run = tmp_path / "runs" / "fit" / "a" / "checkpoints"
    run.mkdir(parents=True)
    torch.save({"state_dict": {}, "hyper_parameters": {"task": "keypoints", "channels": 9}}, run / "decoder.ckpt")
    with pytest.raises(ConfigError, match="ckpt=latest: no fit run"):
        resolve_checkpoint("latest", tmp_path / "runs")
    assert resolve_decoder_checkpoint("latest", tmp_path / "runs", "keypoints") == (run / "decoder.ckpt").resolve()
    with pytest.raises(ConfigError, match="no decoder run of task 'referring_segmentation'.*stage=decoder"):
        resolve_decoder_checkpoint("latest", tmp_path / "runs", "referring_segmentation")
    with pytest.raises(ConfigError, match="decoder.checkpoint=nope.ckpt: no such file"):
        resolve_decoder_checkpoint("nope.ckpt", tmp_path / "runs", "keypoints")


def test_a_task_without_a_learned_decoder_says_so(idiff_config, idiff_task) -> None:
    cfg = idiff_config("fit", "task=detection", "stage=decoder")
    with pytest.raises(ConfigError, match="task 'detection' has no learned decoder.*decoder=analytic"):
        fit(cfg, Path(cfg.paths.runs_dir) / "fit" / "x")
    with pytest.raises(ConfigError, match="task 'detection' has no learned decoder"):
        evaluation_decoders("both", idiff_task("detection"), "detection", "latest", cfg.paths.runs_dir)
    with pytest.raises(ConfigError, match="decoder=sometimes: allowed: analytic, learned, both"):
        evaluation_decoders("sometimes", idiff_task("detection"), "detection", "latest", cfg.paths.runs_dir)


@pytest.mark.slow
def test_fit_decoder_then_test_both_decoders_side_by_side(idiff_fit_tiny, idiff_test_tiny, idiff_config,
                                                          one_thread, tmp_path) -> None:
    idiff_fit_tiny("keypoints", *KEYPOINT_DATA)
    _fit_decoder(idiff_config, "keypoints", 10, *KEYPOINT_DATA)
    metrics = idiff_test_tiny("keypoints", *KEYPOINT_DATA, "decoder=both")
    for key in ("AP", "PCK@0.1", "identity/AP", "learned/AP", "learned/PCK@0.1", "learned/identity/AP"):
        assert 0.0 <= metrics[key] <= 1.0, key
    import json

    report = json.loads((tmp_path / "runs" / "test" / "tiny" / "metrics.json").read_text())
    assert report["decoders"] == ["analytic", "learned"] and report["decoder_checkpoint"].endswith("decoder.ckpt")
    assert all(report["decode_ms_per_image"][name] > 0 for name in ("analytic", "learned"))
    assert (tmp_path / "runs" / "test" / "tiny" / "learned" / "keypoints_results.json").is_file()
    learned_only = idiff_test_tiny("keypoints", *KEYPOINT_DATA, "decoder=learned")
    assert learned_only["AP"] == metrics["learned/AP"] and "learned/AP" not in learned_only
