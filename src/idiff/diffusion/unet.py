"""The latent-diffusion UNet with the source image concatenated to its input (InstructPix2Pix, Sec. 3.4).

A text-to-image SD UNet has 4 input channels; for instruction editing ``conv_in`` is widened to 8 and the 4 new
input channels (the source latent) are zero-initialised, so the widened model starts as the original one.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.resnet import ResnetBlock2D
from diffusers.models.transformers.transformer_2d import Transformer2DModel
from torch import nn

from idiff.errors import ConfigError
from idiff.pretrained import PretrainedSource, as_pretrained_source

__all__ = [
    "build_unet",
    "drop_output_norm",
    "speed_up_unet",
    "unet_conditioning",
    "widen_conv_in",
    "zero_residual_branches",
]


def unet_conditioning(
    unet: UNet2DConditionModel, text: torch.Tensor, mask: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """The UNet's keyword arguments for instruction embeddings ``text`` (B, L, D; L = 77, or less when trimmed).

    ``mask`` (B, L, True = attend), when given, limits cross-attention to the instruction's own tokens
    (``encoder_attention_mask``; see :func:`idiff.text.instruction_mask`).

    Every UNet cross-attends to the token states (``encoder_hidden_states``), as SD does. A UNet built with
    ``class_embed_type: projection`` also gets a pooled instruction embedding added to its timestep embedding
    (as Imagen and SDXL add pooled text): the state of the last position, which the causal CLIP encoder computes
    from the whole padded instruction. Through the ResNet blocks' timestep path (FiLM with
    ``resnet_time_scale_shift: scale_shift``) it can switch whole feature channels on and off. It did not make
    the tiny default localise at the budgets tried (docs/architecture.md, "Conditioning a small model").
    """
    kwargs = {"encoder_hidden_states": text}
    if mask is not None:
        kwargs["encoder_attention_mask"] = mask
    if getattr(getattr(unet, "config", None), "class_embed_type", None) == "projection":  # stubs have no config
        kwargs["class_labels"] = text[:, -1]
    return kwargs


def speed_up_unet(
    unet: nn.Module, channels_last: bool = False, compile_options: bool | dict[str, Any] = False
) -> None:
    """Run ``unet`` faster without changing what it computes or how its checkpoints look (``model.channels_last``,
    ``model.compile``; measured in BENCHMARKS.md).

    ``channels_last``: weights in NHWC memory order, which oneDNN's and cuDNN's convolutions prefer.
    ``compile_options``: ``torch.compile`` of the forward, in place (:meth:`torch.nn.Module.compile`), so the parameters
    and ``state_dict`` keys stay those of the plain UNet and checkpoints load either way; true or a mapping of
    ``torch.compile`` keyword arguments (``mode``, ``dynamic``, ``backend``, ...). Compiling happens at the first
    call of each new input shape and costs minutes on a CPU, so it pays off in long runs only.
    """
    if channels_last:
        unet.to(memory_format=torch.channels_last)
    if compile_options is True:
        unet.compile()
    elif isinstance(compile_options, dict):
        unet.compile(**compile_options)
    elif compile_options not in (False, None):
        raise ConfigError(
            f"model.compile={compile_options!r}: true, false or a mapping of torch.compile keyword arguments"
        )


@torch.no_grad()
def widen_conv_in(unet: UNet2DConditionModel, in_channels: int) -> UNet2DConditionModel:
    """Give ``unet.conv_in`` ``in_channels`` inputs; weights of the new channels are zero.

    The config is updated through ``register_to_config`` so ``save_pretrained`` records the new width.
    """
    old = unet.conv_in
    if in_channels == old.in_channels:
        return unet
    if in_channels < old.in_channels:
        raise ConfigError(f"cannot narrow conv_in from {old.in_channels} to {in_channels} channels")
    new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding)
    new = new.to(device=old.weight.device, dtype=old.weight.dtype)
    new.weight.zero_()
    new.weight[:, : old.in_channels] = old.weight
    new.bias.copy_(old.bias)
    unet.conv_in = new
    unet.register_to_config(in_channels=in_channels)
    return unet


@torch.no_grad()
def zero_residual_branches(unet: UNet2DConditionModel) -> int:
    """Zero the last layer of every residual branch and of the output, as the original LDM / ADM UNet initialises.

    CompVis' ``openaimodel.py`` (the UNet SD was trained from) and ADM wrap each ResBlock's last convolution, each
    attention block's output projection and the final convolution in ``zero_module``; diffusers' from-scratch
    initialisation does not. Zeroed, every ResNet and transformer block starts as the identity and the UNet's output
    as zero (with ``model.residual`` and an unpreconditioned x0 prediction: the unchanged source), and what a block
    learns is added to that; measured on the tiny model in docs/architecture.md ("Restoration in the default").
    Returns the number of layers zeroed.
    """
    layers = [unet.conv_out]
    for module in unet.modules():
        if isinstance(module, ResnetBlock2D):
            layers.append(module.conv2)
        elif isinstance(module, Transformer2DModel):
            layers.append(module.proj_out)
    for layer in layers:
        nn.init.zeros_(layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return len(layers)


def drop_output_norm(unet: UNet2DConditionModel) -> UNet2DConditionModel:
    """Remove the GroupNorm and SiLU in front of ``conv_out`` (diffusers skips both when ``conv_norm_out`` is None).

    A GroupNorm there divides each image's features by their own spread, so the output convolution sees every image
    at one scale and must learn the scale of its answer (the noise level of a denoise source, the size of an edit)
    back from elsewhere; with the residual objective that answer is small and image-dependent. Without the norm,
    ``conv_out`` reads the last block's residual stream as it is. Measured on the tiny model in docs/architecture.md
    ("Restoration in the default"). The UNet's config keeps ``norm_num_groups`` (its blocks still use it), so the
    change lives in ``model.output_norm`` and a checkpoint rebuilt from its hyper-parameters gets it back.
    """
    unet.conv_norm_out = None
    unet.conv_act = None
    return unet


def build_unet(
    latent_channels: int,
    cross_attention_dim: int,
    sample_size: int,
    pretrained_path: str | PretrainedSource | None = None,
    architecture: dict[str, Any] | None = None,
    seed: int = 0,
    in_channels: int | None = None,
    zero_init_residuals: bool = False,
    output_norm: bool = True,
) -> UNet2DConditionModel:
    """The editing UNet: ``2 * latent_channels`` inputs (noisy target + source latent), ``latent_channels`` out.

    With ``pretrained_path`` (a diffusers folder or a :class:`~idiff.pretrained.PretrainedSource`) the UNet comes
    from its ``unet/`` folder or from an original single file (a 4-channel text-to-image UNet is widened; an
    8-channel InstructPix2Pix / InstructDiffusion UNet is used as is). Otherwise a random UNet is built from
    ``architecture`` (keyword arguments of :class:`~diffusers.UNet2DConditionModel`).
    ``in_channels=latent_channels`` asks for a text-to-image UNet instead (stage 1, pretraining adaptation).
    ``zero_init_residuals`` (``model.zero_init_residuals``) initialises a random UNet as LDM / ADM do
    (:func:`zero_residual_branches`); it is an error with pretrained weights, which it would erase.
    ``output_norm=False`` (``model.output_norm``) builds it without the GroupNorm + SiLU in front of ``conv_out``
    (:func:`drop_output_norm`), also for UNets built from scratch only.
    """
    in_channels = in_channels or 2 * latent_channels
    source = as_pretrained_source(pretrained_path)
    if source is not None:
        scratch_only = [setting for setting, chosen in (("model.zero_init_residuals=true", zero_init_residuals),
                                                        ("model.output_norm=false", not output_norm)) if chosen]
        if scratch_only:
            raise ConfigError(
                f"{' and '.join(scratch_only)}: for a UNet built from scratch, but model.pretrained_path loads a "
                "trained one; keep model.zero_init_residuals=false and model.output_norm=true with it"
            )
        unet = source.load("unet", UNet2DConditionModel)
        if unet.config.out_channels != latent_channels:
            raise ConfigError(
                f"{source.where('unet')}: UNet predicts {unet.config.out_channels} channels but the codec has "
                f"{latent_channels}"
            )
        if unet.config.in_channels > in_channels:
            raise ConfigError(
                f"{source.where('unet')}: the UNet has {unet.config.in_channels} input channels, this stage needs "
                f"{in_channels} (stage=pretrain_adaptation starts from a text-to-image UNet)"
            )
        return widen_conv_in(unet, in_channels).train()  # loaders return eval mode; Lightning keeps it
    architecture = dict(architecture or {})
    if architecture.get("class_embed_type") == "projection":
        architecture.setdefault("projection_class_embeddings_input_dim", cross_attention_dim)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=sample_size,
            in_channels=in_channels,
            out_channels=latent_channels,
            cross_attention_dim=cross_attention_dim,
            **architecture,
        )
    if zero_init_residuals:
        zero_residual_branches(unet)
    if not output_norm:
        drop_output_norm(unet)
    return unet
