"""Shared fixtures of the core tests: tiny diffusers components built in-process (diffusers' own test style)."""

from __future__ import annotations

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
