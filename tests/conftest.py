"""Shared fixtures of the core tests: tiny diffusers components built in-process (diffusers' own test style)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, UNet2DConditionModel

from idiff.text import build_text_encoder, build_tokenizer


@pytest.fixture
def tiny_components() -> dict:
    """UNet (8 -> 4 channels), VAE, CLIP text model + tokenizer, Euler ancestral scheduler; seeded."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=8, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32,
    )
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


@pytest.fixture(scope="session")
def fitted_checkpoint(tmp_path_factory) -> Path:
    """``last.ckpt`` of a 2-step fit of the tiny test model on synthetic keypoints (once per test session)."""
    from idiff.cli import compose_config
    from idiff.testing.pytest_plugin import TINY_OVERRIDES
    from idiff.workflows import fit

    root = tmp_path_factory.mktemp("fitted")
    overrides = [*TINY_OVERRIDES, f"paths.runs_dir={root / 'runs'}", f"paths.data_dir={root / 'data'}",
                 "~data.mixture.referring_segmentation", "~data.mixture.semantic_segmentation",
                 "task.synthetic_train_images=8", "task.synthetic_val_images=2"]
    return fit(compose_config("fit", overrides), root / "runs" / "fit" / "only")
