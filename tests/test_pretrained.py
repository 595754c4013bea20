"""Loading a local diffusers folder (the SD 1.5 path) on tiny random components saved in the real layout."""

from __future__ import annotations

import pytest
import torch
from diffusers import UNet2DConditionModel
from omegaconf import OmegaConf

from idiff.cli import compose_config
from idiff.errors import ConfigError
from idiff.module import DiffusionModule


@pytest.fixture
def sd_folder(tmp_path, tiny_components):
    """A text-to-image layout: 4-channel UNet, VAE, CLIP text encoder and tokenizer."""
    c = tiny_components
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32,
    )
    unet.save_pretrained(tmp_path / "unet")
    c["vae"].save_pretrained(tmp_path / "vae")
    c["text_encoder"].save_pretrained(tmp_path / "text_encoder")
    c["tokenizer"].save_pretrained(tmp_path / "tokenizer")
    return tmp_path


def sd_module(folder, resolution=32) -> DiffusionModule:
    overrides = ["experiment=paper", f"model.pretrained_path={folder}", f"model.resolution={resolution}"]
    cfg = compose_config("fit", overrides)
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    return DiffusionModule(**plain)


def test_sd_folder_loads_offline_and_conv_in_is_widened(sd_folder, tiny_components):
    module = sd_module(sd_folder)
    assert module.unet.config.in_channels == 8
    assert module.codec.latent_channels == 4 and module.codec.scaling_factor == pytest.approx(0.18215)
    assert module.tokenizer("a photo of a cat").input_ids == tiny_components["tokenizer"]("a photo of a cat").input_ids
    loss = module.diffusion_loss(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32), ["make it red"])
    assert torch.isfinite(loss)


def test_missing_subfolder_is_named(sd_folder):
    import shutil

    shutil.rmtree(sd_folder / "vae")
    with pytest.raises(ConfigError, match=r"vae is missing \(expected a diffusers vae/ folder\)"):
        sd_module(sd_folder)
