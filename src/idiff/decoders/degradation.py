"""Make clean encoded targets look like diffusion outputs, so a decoder trained on them reads generated images.

A decoder trained on the encoder's exact disks and overlays meets something else at test time: the model's
drawing. What differs, and how each step imitates it (pixel sizes are at 64 px and scale with the image):

- **the mark's shape and place** (``warp``): models draw disks a little larger, smaller or off the encoder's
  raster. The edit ``target - source`` and the label maps go through one small random affine map together
  (shift <= 1.5 px, scale +-25 %, rotation +-15 deg), so the label follows what is drawn;
- **a faint mark** (``strength``): a guided sample often blends the colour only partly over the source:
  ``source + a * (target - source)`` with ``a`` in [0.55, 1];
- **an off colour** (``mark_tint``): the drawn colour deviates from the palette (per-channel offset of the edit
  inside the mark, sigma 0.08);
- **spurious blobs** (``blobs``): 0-2 soft Gaussian blobs of random colours, weaker than a real mark (blend
  0.15-0.5): half-drawn second guesses and colour noise the decoder must not read as the answer;
- **a global tint** (``tint``, ``gain``): the sampler's drift shifts the whole image's colours a little;
- **blur** (``blur``): generated images are smoother than their source (Gaussian, sigma up to 1 px);
- **noise** (``noise``, ``block_noise``): per-pixel noise and noise constant over 4 x 4 blocks, the grain of the
  tiny model's space-to-depth codec (SD's VAE grain is 8 x 8 at 256 px: the same 2 px at 64);
- **8-bit rounding**: generated images are uint8.

All steps run on a whole batch in torch with one seeded generator per call (reproducible, cheap on the CPU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["Degradation"]


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def _gaussian_blur(images: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Per-sample separable Gaussian blur; sigma 0 leaves the sample unchanged."""
    radius = max(1, math.ceil(3 * float(sigmas.max())))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernels = torch.exp(-0.5 * (x[None, :] / sigmas.clamp_min(1e-3)[:, None]) ** 2)
    kernels = kernels / kernels.sum(1, keepdim=True)  # (B, K)
    b, c, h, w = images.shape
    flat = images.reshape(1, b * c, h, w)
    k = kernels.repeat_interleave(c, 0)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), k[:, None, None, :], groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), k[:, None, :, None], groups=b * c)
    return flat.reshape(b, c, h, w)


@dataclass
class Degradation:
    """How far training targets are pushed toward what a diffusion model generates (module docstring).

    Each ``p_*`` is the probability that a sample gets that step; sizes are in pixels at 64 px.
    """

    p_warp: float = 0.7
    shift: float = 1.5
    scale: float = 0.25
    rotation: float = 15.0
    p_strength: float = 0.7
    min_strength: float = 0.55
    p_mark_tint: float = 0.5
    mark_tint: float = 0.08
    p_blobs: float = 0.5
    max_blobs: int = 2
    blob_strength: tuple[float, float] = (0.15, 0.5)
    blob_sigma: tuple[float, float] = (1.0, 3.0)
    p_tint: float = 0.5
    tint: float = 0.03
    gain: float = 0.05
    p_blur: float = 0.6
    blur: float = 1.0
    p_noise: float = 0.7
    noise: float = 0.04
    block_noise: float = 0.04
    block: int = 4

    def __call__(self, source: torch.Tensor, target: torch.Tensor, label: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Degrade a batch: ``source``, ``target`` (B, 3, H, W) in [0, 1], ``label`` (B, C, H, W).

        Returns the degraded target (quantised to 8 bits) and the label, moved with the mark.
        """
        b, _, h, w = target.shape
        px = h / 64.0
        gen = generator
        edit = target - source
        if self.p_warp > 0:
            edit, label = self._warp(edit, label, torch.rand(b, generator=gen) < self.p_warp, px, gen)
        on = (torch.rand(b, generator=gen) < self.p_strength).float()
        edit = edit * (1 - on + on * _uniform(b, self.min_strength, 1.0, gen))[:, None, None, None]
        mark = (edit.abs().amax(1, keepdim=True) > 0.02).float()
        on = (torch.rand(b, generator=gen) < self.p_mark_tint).float()[:, None, None, None]
        edit = edit + on * mark * torch.randn(b, 3, 1, 1, generator=gen) * self.mark_tint
        out = source + edit
        out = self._blobs(out, px, gen)
        on = (torch.rand(b, generator=gen) < self.p_tint).float()[:, None, None, None]
        gain = 1 + on * torch.randn(b, 3, 1, 1, generator=gen) * self.gain
        out = out * gain + on * torch.randn(b, 3, 1, 1, generator=gen) * self.tint
        on = (torch.rand(b, generator=gen) < self.p_blur).float()
        sigmas = on * _uniform(b, 0.0, self.blur * px, gen)
        if float(sigmas.max()) > 0.05:
            out = _gaussian_blur(out, sigmas)
        on = (torch.rand(b, generator=gen) < self.p_noise).float()[:, None, None, None]
        out = out + on * _uniform(b, 0, self.noise, gen)[:, None, None, None] * torch.randn(out.shape, generator=gen)
        size = max(1, round(self.block * px))
        coarse = torch.randn(b, 3, math.ceil(h / size), math.ceil(w / size), generator=gen)
        coarse = coarse.repeat_interleave(size, 2).repeat_interleave(size, 3)[..., :h, :w]
        out = out + on * _uniform(b, 0, self.block_noise, gen)[:, None, None, None] * coarse
        return torch.round(out.clamp(0, 1) * 255) / 255, label

    def _warp(self, edit: torch.Tensor, label: torch.Tensor, chosen: torch.Tensor, px: float,
              gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = edit.shape
        angle = torch.deg2rad(_uniform(b, -self.rotation, self.rotation, gen))
        scale = 1 + _uniform(b, -self.scale, self.scale, gen)
        shift = _uniform(2 * b, -self.shift, self.shift, gen).reshape(b, 2) * px
        # affine_grid maps output -> input in [-1, 1] units; identity for the samples not chosen
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, -2 * shift[:, 0] / w], 1),
                             torch.stack([sin, cos, -2 * shift[:, 1] / h], 1)], 1)
        identity = torch.eye(2, 3).expand(b, 2, 3)
        theta = torch.where(chosen[:, None, None], theta, identity)
        both = torch.cat([edit, label], 1)
        grid = F.affine_grid(theta, list(both.shape), align_corners=False)
        both = F.grid_sample(both, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return both[:, : edit.shape[1]], both[:, edit.shape[1] :]

    def _blobs(self, images: torch.Tensor, px: float, gen: torch.Generator) -> torch.Tensor:
        b, _, h, w = images.shape
        ys = torch.arange(h, dtype=images.dtype)[:, None]
        xs = torch.arange(w, dtype=images.dtype)[None, :]
        counts = torch.randint(1, self.max_blobs + 1, (b,), generator=gen) if self.max_blobs > 0 else torch.zeros(b)
        counts = torch.where(torch.rand(b, generator=gen) < self.p_blobs, counts, torch.zeros_like(counts))
        for i in range(self.max_blobs):
            on = (counts > i).float()[:, None, None, None]
            cy, cx = _uniform(b, 0, h - 1, gen), _uniform(b, 0, w - 1, gen)
            sigma = _uniform(b, *self.blob_sigma, gen) * px
            bump = torch.exp(-((ys - cy[:, None, None]) ** 2 + (xs - cx[:, None, None]) ** 2)
                             / (2 * sigma[:, None, None] ** 2))[:, None]
            strength = _uniform(b, *self.blob_strength, gen)[:, None, None, None]
            colour = torch.rand(b, 3, 1, 1, generator=gen)
            images = images + on * strength * bump * (colour - images)
        return images
