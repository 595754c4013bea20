"""A linear filter of the source pixels, chosen by the instruction, added to the UNet's edit (``model.source_filter``).

Dynamic filter networks (Jia et al., NeurIPS 2016) and kernel-prediction denoisers (Bako et al. 2017; Mildenhall et
al., CVPR 2018) let a network output the weights of a filter that is then applied to its input. Here one small
linear layer reads the instruction's pooled embedding (the mean of its own token states) and outputs a ``k x k``
colour filter (3 -> 3 channels) for each image, which is applied to the source *at pixel resolution*; its output is
an edit, added to the UNet's x0 prediction of the (residual) edit. The layer starts at zero, so the model starts as
the UNet alone.

Why (docs/architecture.md, "Restoration in the default"): through the space-to-depth codec of the tiny default a
pixel filter becomes a different channel map for each of the 16 sub-pixel phases, and the small UNet learns such
low-level edits (denoise, deblur) far more slowly than a plain pixel filter is learned, while those edits are mostly
linear filters of the source. Only for a codec whose latents *are* the pixels (``space_to_depth``), with residual
x0-prediction; never for SD weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from idiff.codecs import SpaceToDepthCodec
from idiff.errors import ConfigError

__all__ = ["SourceFilter", "build_source_filter"]


class SourceFilter(nn.Module):
    """Per-image ``kernel_size`` x ``kernel_size`` colour filter of the source, predicted from the instruction.

    Args:
        text_dim: width of the instruction embedding (the text encoder's hidden size).
        factor: the space-to-depth codec's factor (latents are ``pixel_unshuffle`` of the pixels by it).
        kernel_size: odd filter size in pixels.
    """

    def __init__(self, text_dim: int, factor: int, kernel_size: int = 5) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"model.source_filter.kernel_size={kernel_size}: must be an odd number >= 1")
        self.factor, self.kernel_size = factor, kernel_size
        self.norm = nn.LayerNorm(text_dim, elementwise_affine=False)
        self.weights = nn.Linear(text_dim, 9 * kernel_size * kernel_size)
        nn.init.zeros_(self.weights.weight)
        nn.init.zeros_(self.weights.bias)

    @staticmethod
    def pool(text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The instruction's pooled embedding (B, D): the mean of its own token states (``mask``: (B, L), True at
        the instruction's tokens, :func:`idiff.text.instruction_mask`), not of the padding after them."""
        weights = mask.to(text.dtype)[..., None]
        return (text * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def forward(self, source_latents: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """The edit (B, C, h, w) in latent layout for source latents (B, C, h, w) and pooled instructions (B, D)."""
        b, k = source_latents.shape[0], self.kernel_size
        pixels = F.pixel_shuffle(source_latents, self.factor)  # (B, 3, H, W)
        kernels = self.weights(self.norm(pooled)).view(b * 3, 3, k, k).to(pixels.dtype)
        padded = F.pad(pixels, [k // 2] * 4, mode="replicate")
        padded = padded.reshape(1, b * 3, *padded.shape[-2:])  # one grouped convolution: each image its own filter
        edit = F.conv2d(padded, kernels, groups=b).view_as(pixels)
        return F.pixel_unshuffle(edit, self.factor)


def build_source_filter(
    model: dict, codec, text_dim: int, prediction_type: str, residual: bool
) -> SourceFilter | None:
    """The ``model.source_filter`` config (null, or ``{kernel_size: 5}``) as a module, or None; checks it applies.

    ``residual``: whether the model diffuses the edit (``model.residual``, off for a text-to-image stage).
    """
    options = model.get("source_filter")
    if not options:
        return None
    if not isinstance(options, dict):
        raise ConfigError(f"model.source_filter={options!r}: must be null or a mapping such as {{kernel_size: 5}}")
    problems = []
    if not isinstance(codec, SpaceToDepthCodec):
        problems.append("model.codec.kind=space_to_depth (the filter works on pixels)")
    if not residual:
        problems.append("model.residual=true and an editing stage (the filter's output is an edit of a source)")
    if prediction_type != "sample":
        problems.append("model.noise_schedule.prediction_type=sample (it is added to the x0 prediction)")
    if model.get("preconditioning"):
        problems.append("model.preconditioning=null")
    if problems:
        raise ConfigError("model.source_filter needs " + "; ".join(problems))
    unknown = set(options) - {"kernel_size"}
    if unknown:
        raise ConfigError(f"model.source_filter: unknown key(s) {sorted(unknown)}; allowed: kernel_size")
    return SourceFilter(text_dim, codec.downsample_factor, int(options.get("kernel_size", 5)))
