"""Shared fixtures of the core tests: tiny diffusers components built in-process (diffusers' own test style)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, UNet2DConditionModel

from idiff.text import build_text_encoder, build_tokenizer


def tiny_unet(in_channels: int = 8) -> UNet2DConditionModel:
    """The tests' tiny SD-style UNet (4 latent channels out, 32-d cross-attention), seeded."""
    torch.manual_seed(0)
    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=in_channels, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32,
    )


@pytest.fixture
def make_tiny_unet():
    """:func:`tiny_unet` as a fixture: ``make_tiny_unet(in_channels=4)`` is a text-to-image UNet."""
    return tiny_unet


@pytest.fixture
def tiny_components() -> dict:
    """UNet (8 -> 4 channels), VAE, CLIP text model + tokenizer, Euler ancestral scheduler; seeded."""
    unet = tiny_unet(8)
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=32,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
    )
    text_encoder = build_text_encoder(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    scheduler = EulerAncestralDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    return {"unet": unet.eval(), "vae": vae.eval(), "text_encoder": text_encoder.eval(), "tokenizer": build_tokenizer(),
            "scheduler": scheduler}



@pytest.fixture
def make_module(idiff_config):
    """Factory of the tests' DiffusionModules (seed 0) from fit overrides: ``make_module("sampler.num_steps=2")``.

    The UNet keeps diffusers' random initialisation (``model.zero_init_residuals=false``, which an override can turn
    back on): a zero-initialised UNet outputs zeros, and tests that compare outputs would compare nothing.
    """
    from omegaconf import OmegaConf

    from idiff.module import DiffusionModule

    def make(*overrides: str) -> DiffusionModule:
        cfg = idiff_config("fit", "model.zero_init_residuals=false", *overrides)
        groups = ("model", "stage", "sampler")
        return DiffusionModule(**{k: OmegaConf.to_container(cfg[k], resolve=True) for k in groups}, seed=0)

    return make


@pytest.fixture
def make_vae_module(make_module):
    """Factory of tiny SD-style DiffusionModules: random AutoencoderKL codec, epsilon prediction, no residual."""
    vae = ["model.codec.kind=autoencoder_kl", "+model.codec.block_out_channels=[32,64]",
           "+model.codec.norm_num_groups=32", "+model.codec.down_block_types=[DownEncoderBlock2D,DownEncoderBlock2D]",
           "+model.codec.up_block_types=[UpDecoderBlock2D,UpDecoderBlock2D]", "model.residual=false",
           "model.noise_schedule.prediction_type=epsilon", "model.preconditioning=null", "model.mask_padding=false"]
    return lambda *overrides: make_module(*vae, *overrides)


@pytest.fixture
def vae_module(make_vae_module):
    """A tiny SD-style module sampling with the InstructPix2Pix formula, whose raw UNet has moved off its EMA."""
    module = make_vae_module("sampler.formula=instruct_pix2pix")
    with torch.no_grad():  # the EMA keeps the initial weights
        for p in module.unet.parameters():
            p.add_(0.01)
    return module.eval()


@pytest.fixture(scope="session")
def fitted_checkpoint(tmp_path_factory) -> Path:
    """``last.ckpt`` of a 2-step fit of the tiny test model on synthetic keypoints (once per test session)."""
    from idiff.cli import compose_config
    from idiff.testing.pytest_plugin import TINY_OVERRIDES
    from idiff.workflows import fit

    root = tmp_path_factory.mktemp("fitted")
    overrides = [*TINY_OVERRIDES, f"paths.runs_dir={root / 'runs'}", f"paths.data_dir={root / 'data'}",
                 "~data.mixture", "+data.mixture={keypoints: 1.0}",
                 "task.synthetic_train_images=8", "task.synthetic_val_images=2"]
    return fit(compose_config("fit", overrides), root / "runs" / "fit" / "only")
@pytest.fixture
def captioned_folder(tmp_path):
    """8 random 40 x 40 PNGs under ``images/`` and a COCO captions JSON naming them (two captions each)."""
    import json

    import numpy as np
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i in range(8):
        name = f"{i:012d}.png"
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / name)
        images.append({"id": i, "file_name": name, "width": 40, "height": 40})
        annotations += [{"id": 2 * i + k, "image_id": i, "caption": f"picture {i} variant {k}."} for k in range(2)]
    captions = tmp_path / "captions_train2017.json"
    captions.write_text(json.dumps({"images": images, "annotations": annotations}))
    return folder, captions
