"""`idiff export`: a diffusers InstructPix2Pix pipeline folder that diffusers reloads and samples identically."""

from __future__ import annotations

import pytest
import torch
from diffusers import DiffusionPipeline, StableDiffusionInstructPix2PixPipeline
from omegaconf import OmegaConf

from idiff.checkpoints import export_weights
from idiff.cli import compose_config, main
from idiff.errors import ConfigError
from idiff.export import export_original, export_pipeline
from idiff.module import DiffusionModule

PROMPT = "Circle the nose of the people with the color red, "


def pipeline_image(folder, source, steps):
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    assert isinstance(pipe, StableDiffusionInstructPix2PixPipeline)
    pipe.set_progress_bar_config(disable=True)
    return pipe([PROMPT] * len(source), image=source, num_inference_steps=steps, guidance_scale=7.5,
                image_guidance_scale=1.5, generator=torch.Generator().manual_seed(0), output_type="pt").images


def test_exported_pipeline_gives_the_image_of_our_sampler_with_ema_weights(vae_module, tmp_path):
    folder = export_pipeline(vae_module, tmp_path / "pipeline")
    source = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    steps = vae_module.hparams["sampler"]["num_steps"]
    theirs = pipeline_image(folder, source, steps)
    raw = vae_module.generate(source, [PROMPT] * 2, 7.5, 1.5, generator=torch.Generator().manual_seed(0))
    vae_module.use_ema_weights()
    ours = vae_module.generate(source, [PROMPT] * 2, 7.5, 1.5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(ours / 2 + 0.5, theirs, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(raw / 2 + 0.5, theirs, atol=1e-3)  # the pipeline holds the EMA weights


def test_an_exported_folder_starts_a_new_fit(vae_module, tmp_path):
    folder = export_pipeline(vae_module, tmp_path / "pipeline")
    cfg = compose_config("fit", ["experiment=paper", f"model.pretrained_path={folder}", "model.resolution=32"])
    module = DiffusionModule(**{k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")})
    assert module.unet.training and module.unet.config.in_channels == 8
    vae_module.use_ema_weights()
    for name, value in vae_module.state_dict().items():
        torch.testing.assert_close(module.state_dict()[name], value, rtol=0, atol=0, msg=name)


def test_export_replaces_an_existing_folder_whole(vae_module, tmp_path):
    folder = tmp_path / "pipeline"
    folder.mkdir()
    (folder / "stale.txt").write_text("from an older export")
    export_pipeline(vae_module, folder)
    assert not (folder / "stale.txt").exists() and (folder / "model_index.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["pipeline"]  # no temporary folder left behind


@pytest.mark.parametrize(
    "override, reason",
    [
        ("model.residual=true", "model.residual=true diffuses target - source"),
        ("model.mask_padding=true", "model.mask_padding=true"),
        ("+model.unet.class_embed_type=projection", "class_embed_type=projection"),
    ],
)
def test_models_diffusers_would_sample_differently_are_refused(make_vae_module, tmp_path, override, reason):
    module = make_vae_module(override)
    with pytest.raises(ConfigError, match=f"format=diffusers cannot carry this model: .*{reason}"):
        export_pipeline(module, tmp_path / "pipeline")
    assert not (tmp_path / "pipeline").exists()


def test_an_edm_preconditioned_model_is_refused(make_vae_module, tmp_path):
    module = make_vae_module("model.noise_schedule.prediction_type=sample", "model.preconditioning=edm",
                             "stage.snr_gamma=null")
    with pytest.raises(ConfigError, match=r"format=original cannot carry this model: model\.preconditioning=edm"):
        export_original(module, tmp_path / "model.safetensors")
    assert not (tmp_path / "model.safetensors").exists()


def test_a_model_without_output_norm_is_refused(make_vae_module, tmp_path):
    module = make_vae_module("model.output_norm=false")
    with pytest.raises(ConfigError, match=r"format=original cannot carry this model: model\.output_norm=false"):
        export_original(module, tmp_path / "model.safetensors")
    assert not (tmp_path / "model.safetensors").exists()


def test_export_verb_writes_a_pipeline_and_an_original_file(vae_module, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ckpt = export_weights(vae_module, tmp_path / "vae.safetensors", half=False)
    main(["export", f"ckpt={ckpt}", "output=exported"])
    assert "format=diffusers, EMA UNet weights" in capsys.readouterr().out
    source = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    vae_module.use_ema_weights()
    ours = vae_module.generate(source, [PROMPT], 7.5, 1.5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(ours / 2 + 0.5, pipeline_image(tmp_path / "exported", source, 2), atol=1e-5, rtol=1e-4)

    main(["export", f"ckpt={ckpt}", "output=model.safetensors", "format=original"])
    assert (tmp_path / "model.safetensors").is_file()


def test_export_verb_names_what_the_tiny_default_lacks_in_one_line(idiff_config, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = idiff_config("fit")
    tiny = DiffusionModule(**{k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")})
    tiny_ckpt = export_weights(tiny, tmp_path / "tiny.safetensors")
    with pytest.raises(SystemExit) as exit_info:
        main(["export", f"ckpt={tiny_ckpt}", "output=tiny-pipeline"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("idiff: error: format=diffusers cannot carry this model: codec space_to_depth has no")
    assert "\n" not in err and not (tmp_path / "tiny-pipeline").exists()
