"""The learned decoder's network: a timm encoder and a light U-Net head (PAPER.md "Decoding").

The paper post-processes generated images with "a lightweight U-Net structure ... to generate a multi-channel
heatmap" and gives no architecture. Here: any timm backbone as the encoder (``features_only=True``, every stage's
features), built with 6 input channels (the generated image and the source, side by side: what changed is the
evidence, as for the analytic decoders), and a decoder that upsamples the deepest features by 2 at a time, each time
concatenating the encoder's features of that stride (skip connections, U-Net), ending at the input resolution with
the input itself as the last skip. A 1 x 1 convolution gives one logit map per output channel.

Weights are never downloaded: the backbone starts random (``pretrained=False``) unless ``backbone_weights`` names a
local file of its weights (timm's ``pretrained_cfg_overlay={"file": ...}``; the first convolution is adapted to 6
input channels by timm).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from idiff.quality.image_features import create_backbone

__all__ = ["DecoderNet", "INPUT_CHANNELS"]

#: Generated image and source, RGB each.
INPUT_CHANNELS = 6


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def build_encoder(backbone: str, weights: str | None = None) -> nn.Module:
    """A timm backbone returning every stage's features; random, or from a local weights file."""
    return create_backbone(backbone, weights or None, "stage.backbone", "stage.backbone_weights",
                           features_only=True, in_chans=INPUT_CHANNELS)


class DecoderNet(nn.Module):
    """(generated, source) images in [0, 1], (B, 6, H, W) -> (B, ``channels``, H, W) logits.

    Args:
        channels: output maps.
        backbone: timm model name (e.g. ``resnet10t``, ``mobilenetv3_small_050``, ``efficientnet_b0``).
        widths: decoder widths from the deepest skip to the full-resolution one; one per encoder stage plus one
            (the input skip). A shorter list repeats its last width.
        backbone_weights: optional local file of the backbone's weights.
    """

    def __init__(self, channels: int, backbone: str = "resnet10t", widths: Sequence[int] = (128, 64, 32, 24, 16),
                 backbone_weights: str | None = None) -> None:
        super().__init__()
        self.encoder = build_encoder(backbone, backbone_weights)
        info = self.encoder.feature_info
        skips = list(info.channels())
        self.reductions = list(info.reduction())
        stages = len(skips)
        widths = [int(w) for w in widths] or [16]
        widths = (widths + [widths[-1]] * stages)[: stages + 1]
        # deepest features -> widths[0]; then one block per shallower skip, the input last
        skip_channels = [*reversed(skips[:-1]), INPUT_CHANNELS]
        self.bottom = _conv_block(skips[-1], widths[0])
        self.blocks = nn.ModuleList(
            _conv_block(widths[i] + skip_channels[i], widths[i + 1]) for i in range(len(skip_channels))
        )
        self.head = nn.Conv2d(widths[-1], channels, 1)
        # start every map at a 1 % prior (RetinaNet's focal-loss init): the maps are mostly empty, and a network that
        # starts at 0.5 everywhere spends its first hundred steps learning only that
        nn.init.constant_(self.head.bias, -math.log(99.0))

    @property
    def multiple(self) -> int:
        """Input sizes are padded to a multiple of this (the encoder's largest stride)."""
        return max(self.reductions)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[-2:]
        m = self.multiple
        pad_h, pad_w = -height % m, -width % m
        x_in = F.pad(images, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else images
        x_in = x_in * 2.0 - 1.0
        features = self.encoder(x_in)
        x = self.bottom(features[-1])
        for block, skip in zip(self.blocks, [*reversed(features[:-1]), x_in], strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)[..., :height, :width]
