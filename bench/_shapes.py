"""Model shapes and row labels shared by the benchmark scripts (a helper module, not a benchmark: nox skips
``bench/_*.py``).

``SD15`` builds random components of Stable Diffusion 1.5's sizes from the embedded default's config, so a GPU
benchmark needs no downloaded weights: the 860 M-parameter UNet (8 input channels, as InstructPix2Pix /
InstructDiffusion), SD's AutoencoderKL (84 M, 8x downsampling, 4 latent channels) and a CLIP ViT-L/14 text encoder
(123 M, frozen as SD keeps it), epsilon-prediction, no residual objective. Random weights cost the same FLOPs and
memory as the real ones.
"""

from __future__ import annotations

SD15 = [
    "model.resolution=256",
    "model.residual=false",
    "model.noise_schedule.prediction_type=epsilon",
    "model.preconditioning=null",
    "model.zero_init_residuals=false",
    "model.mask_padding=false",  # SD attends to all 77 positions (conf/model/sd15.yaml)
    "model.codec.kind=autoencoder_kl",
    "+model.codec.block_out_channels=[128,256,512,512]",
    "+model.codec.layers_per_block=2",
    "+model.codec.latent_channels=4",
    "+model.codec.down_block_types=[DownEncoderBlock2D,DownEncoderBlock2D,DownEncoderBlock2D,DownEncoderBlock2D]",
    "+model.codec.up_block_types=[UpDecoderBlock2D,UpDecoderBlock2D,UpDecoderBlock2D,UpDecoderBlock2D]",
    "model.text_encoder.hidden_size=768",
    "model.text_encoder.num_hidden_layers=12",
    "model.text_encoder.num_attention_heads=12",
    "model.text_encoder.intermediate_size=3072",
    "model.unet.block_out_channels=[320,640,1280,1280]",
    "model.unet.layers_per_block=2",
    "model.unet.down_block_types=[CrossAttnDownBlock2D,CrossAttnDownBlock2D,CrossAttnDownBlock2D,DownBlock2D]",
    "model.unet.up_block_types=[UpBlock2D,CrossAttnUpBlock2D,CrossAttnUpBlock2D,CrossAttnUpBlock2D]",
    "model.unet.attention_head_dim=8",
    "stage.train_text_encoder=false",
    "stage.snr_gamma=null",
    "stage.optimizer.lr=1e-4",
]

SHAPES = {"config": [], "sd15": SD15}


def unet_options(model: dict) -> str:
    """How our UNet runs in a benchmark row: ``eager``, or the ``model.channels_last`` / ``model.compile`` set."""
    return " + ".join(key for key in ("channels_last", "compile") if model.get(key)) or "eager"
