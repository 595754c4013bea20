"""WiSE-FT (``stage.wise_ft``): a fit keeps its start weights; generation averages them with the fine-tuned EMA."""

from __future__ import annotations

import json

import pytest
import torch
from omegaconf import OmegaConf

from idiff.checkpoints import export_weights, init_weights, load_module
from idiff.diffusion.wise_ft import START_WEIGHTS_KEY, check_alpha
from idiff.errors import ConfigError
from idiff.module import DiffusionModule

SMALL = ("task.synthetic_train_images=4", "task.synthetic_val_images=2")


def _module(idiff_config, *overrides: str) -> DiffusionModule:
    cfg = idiff_config("fit", *overrides)
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    return DiffusionModule(**plain, seed=0)


def _floats(module: DiffusionModule) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if v.is_floating_point()}


def _assert_states(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert actual.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(actual[name], value, msg=name)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_inference_weights_are_the_average_of_the_start_and_the_fine_tuned_ema(idiff_config, alpha):
    module = _module(idiff_config, "stage.wise_ft=0.5", "stage.train_text_encoder=true")
    start = _floats(module)
    module.keep_start_weights()
    with torch.no_grad():  # "fine-tuning": move every trained weight, then the EMA once, so raw != EMA != start
        for p in module.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)
        module.ema.step(module.ema_parameters())
        for p in module.unet.parameters():
            p.add_(1.0)
    module.use_ema_weights()
    fine_tuned = _floats(module)
    module.use_inference_weights(use_ema=True, wise_ft=alpha)
    frozen = {k for k, p in module.named_parameters() if not p.requires_grad}
    expected = {k: v if k in frozen else (1 - alpha) * start[k] + alpha * v for k, v in fine_tuned.items()}
    _assert_states(_floats(module), expected)
    assert any(k.startswith("text_encoder.") for k in expected if k not in frozen)  # the trained encoder too
    assert module.wise_ft is None and module.hparams["stage"]["wise_ft"] is None  # applied once


def test_a_fit_keeps_its_start_through_resume_and_every_consumer_generates_with_the_average(
    idiff_config, idiff_fit_tiny, idiff_test_tiny, tmp_path, capsys
):
    start_file = export_weights(_module(idiff_config), tmp_path / "start.safetensors", half=False)
    start = _floats(load_module(start_file))
    last = idiff_fit_tiny("keypoints", *SMALL, f"init_weights={start_file}", "stage.wise_ft=0.5")
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)
    kept = checkpoint[START_WEIGHTS_KEY]
    _assert_states(kept, {k: start[k] for k in kept})
    assert any(k.startswith("unet.") for k in kept)

    resumed = tmp_path / "resumed.ckpt"
    resumed.write_bytes(last.read_bytes())
    last = idiff_fit_tiny("keypoints", *SMALL, f"resume={resumed}", "trainer.max_steps=3", "stage.wise_ft=0.5")
    _assert_states(torch.load(last, map_location="cpu", weights_only=True)[START_WEIGHTS_KEY], kept)

    fine_tuned = load_module(last)
    fine_tuned.use_inference_weights(use_ema=True, wise_ft=1.0)
    averaged = load_module(last)
    assert averaged.use_inference_weights(use_ema=True) == 0.5  # the fit's alpha
    expected = {k: 0.5 * start[k] + 0.5 * v if k in kept else v for k, v in _floats(fine_tuned).items()}
    _assert_states(_floats(averaged), expected)

    from idiff.export import export

    averaged_file = tmp_path / "averaged.safetensors"
    export(idiff_config("export", f"ckpt={last}", "format=idiff", f"output={averaged_file}"))
    exported = load_module(averaged_file)
    assert exported.hparams["stage"]["wise_ft"] is None
    exported.use_inference_weights(use_ema=True)  # nothing left to average
    _assert_states(_floats(exported), {k: v.half().float() for k, v in expected.items()})  # format=idiff is fp16

    # a fit started from this checkpoint (stage 3 from stage 2) starts from the weights it generates with
    following = _module(idiff_config)
    init_weights(following, last)
    _assert_states(_floats(following), expected)

    # idiff test generates with the average (metrics.json says which), or with the alpha given on its command line
    metrics = tmp_path / "runs" / "test" / "tiny" / "metrics.json"
    for override, alpha in (((), 0.5), (("wise_ft=1.0",), 1.0)):
        capsys.readouterr()
        idiff_test_tiny("keypoints", *SMALL, *override, ckpt=last)
        assert json.loads(metrics.read_text())["wise_ft"] == alpha
        assert f"(WiSE-FT: averaged with its start weights, alpha {alpha})" in capsys.readouterr().out


def test_wise_ft_refuses_a_bad_alpha_a_random_start_and_a_checkpoint_without_start(
    idiff_config, idiff_fit_tiny, tmp_path
):
    for bad in ("1.5", "-0.1", "half", "true"):
        with pytest.raises(ConfigError, match=r"^stage.wise_ft=.*must be a number in \[0, 1\]"):
            _module(idiff_config, f"stage.wise_ft={bad}")
    assert check_alpha(None, "wise_ft") is None
    with pytest.raises(ConfigError, match=r"stage.wise_ft=0.5: WiSE-FT .* random ones .*init_weights"):
        idiff_fit_tiny("keypoints", *SMALL, "stage.wise_ft=0.5")
    last = idiff_fit_tiny("keypoints", *SMALL)
    with pytest.raises(ConfigError, match=r"wise_ft=0.5: this checkpoint keeps no start weights"):
        load_module(last).use_inference_weights(wise_ft=0.5)
    with pytest.raises(ConfigError, match=r"stage.wise_ft=0.5: this checkpoint keeps no start weights .*resume"):
        idiff_fit_tiny("keypoints", *SMALL, f"resume={last}", "trainer.max_steps=3", "stage.wise_ft=0.5")
