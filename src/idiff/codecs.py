"""Codecs: between images in [-1, 1] and the latent space the UNet works in.

Latent diffusion (SD 1.x) diffuses in the latent space of a KL autoencoder scaled by 0.18215; the source image
condition is the *unscaled* mode of its posterior, as InstructPix2Pix and InstructDiffusion do. The embedded
default instead uses :class:`SpaceToDepthCodec`, an exact, parameter-free pixel-unshuffle: on a 2-core CPU it
costs nothing and loses nothing (see docs/architecture.md, "Choosing the codec", for the measurements).
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from torch import nn

from idiff.errors import ConfigError
from idiff.pretrained import PretrainedSource, as_pretrained_source

__all__ = ["AutoencoderKLCodec", "Codec", "SpaceToDepthCodec", "build_codec"]


class Codec(nn.Module, abc.ABC):
    """Maps images (B, 3, H, W) in [-1, 1] to latents (B, C, H/f, W/f) and back."""

    latent_channels: int
    downsample_factor: int
    scaling_factor: float = 1.0

    @abc.abstractmethod
    def encode_target(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Scaled latents of the images to generate (what the diffusion process noises)."""

    @abc.abstractmethod
    def encode_source(self, images: torch.Tensor) -> torch.Tensor:
        """Unscaled deterministic latents of the conditioning image."""

    @abc.abstractmethod
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] from scaled latents."""


class SpaceToDepthCodec(Codec):
    """Exact pixel-space codec: ``pixel_unshuffle`` by ``factor`` (3 f^2 channels at 1/f resolution)."""

    def __init__(self, factor: int = 4) -> None:
        super().__init__()
        if factor < 1:
            raise ConfigError(f"model.codec.factor must be >= 1, got {factor}")
        self.downsample_factor = factor
        self.latent_channels = 3 * factor * factor

    def encode_target(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return F.pixel_unshuffle(images, self.downsample_factor)

    def encode_source(self, images: torch.Tensor) -> torch.Tensor:
        return F.pixel_unshuffle(images, self.downsample_factor)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(latents, self.downsample_factor).clamp(-1, 1)


class AutoencoderKLCodec(Codec):
    """A diffusers :class:`~diffusers.AutoencoderKL` (SD's VAE), frozen."""

    def __init__(self, vae: AutoencoderKL) -> None:
        super().__init__()
        self.vae = vae.requires_grad_(False).eval()
        self.latent_channels = vae.config.latent_channels
        self.downsample_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.scaling_factor = float(vae.config.scaling_factor)

    def train(self, mode: bool = True) -> AutoencoderKLCodec:
        """Stay in eval mode: the VAE is never trained here."""
        return super().train(False)

    @torch.no_grad()
    def encode_target(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.vae.encode(images).latent_dist.sample(generator) * self.scaling_factor

    @torch.no_grad()
    def encode_source(self, images: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(images).latent_dist.mode()

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latents / self.scaling_factor).sample.clamp(-1, 1)


def build_codec(
    kind: str, pretrained_path: str | PretrainedSource | None = None, factor: int = 4, **vae_kwargs: object
) -> Codec:
    """Build the codec named by ``model.codec.kind``: ``space_to_depth`` or ``autoencoder_kl``.

    ``autoencoder_kl`` loads the VAE of ``pretrained_path`` (a diffusers folder's ``vae/`` or an original single
    file, see :mod:`idiff.pretrained`) or, without a path, builds a random VAE from ``vae_kwargs`` (tests and
    benchmarks only: a random VAE cannot reconstruct images).
    """
    match kind:
        case "space_to_depth":
            return SpaceToDepthCodec(factor)
        case "autoencoder_kl":
            source = as_pretrained_source(pretrained_path)
            if source is not None:
                return AutoencoderKLCodec(source.load("vae", AutoencoderKL))
            return AutoencoderKLCodec(AutoencoderKL(**vae_kwargs))
        case _:
            raise ConfigError(f"model.codec.kind: unknown codec {kind!r}; allowed: space_to_depth, autoencoder_kl")
