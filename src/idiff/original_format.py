"""The original single-file layout of Stable Diffusion (CompVis latent-diffusion ``.ckpt`` / ``.safetensors``).

SD 1.5, InstructPix2Pix and InstructDiffusion were released as one state dict with the UNet under
``model.diffusion_model.`` (LDM block names: ``input_blocks``, ``middle_block``, ``output_blocks``), the VAE under
``first_stage_model.`` and the CLIP text encoder under ``cond_stage_model.transformer.``; training checkpoints also
hold the EMA UNet under ``model_ema.``. Reading uses diffusers' own converters
(:mod:`diffusers.loaders.single_file_utils`, the code behind ``from_single_file``) on a file loaded without
executing code, then loads each component strictly, so a file that does not match the config is named, not
silently half-loaded. Writing is the inverse key mapping, so tools that read SD checkpoints (diffusers'
``from_single_file``, A1111, ComfyUI) can read what idiff exports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.loaders.single_file_utils import (
    DIFFUSERS_TO_LDM_MAPPING,
    LDM_UNET_KEY,
    convert_ldm_clip_checkpoint,
    convert_ldm_unet_checkpoint,
    convert_ldm_vae_checkpoint,
)
from safetensors.torch import load_file
from torch import nn
from transformers import CLIPTextModel

from idiff.errors import ConfigError

__all__ = [
    "CLIP_KEY",
    "VAE_KEY",
    "from_original",
    "read_original_checkpoint",
    "to_original_state_dict",
    "unet_in_channels",
]

VAE_KEY = "first_stage_model."
CLIP_KEY = "cond_stage_model.transformer."
_UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0", "conv2": "out_layers.3",
                "time_emb_proj": "emb_layers.1", "conv_shortcut": "skip_connection"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def read_original_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The flat tensor dict of an original ``.safetensors`` or ``.ckpt`` file; a pickle is read weights-only."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            checkpoint: Any = load_file(str(path))
        else:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - unreadable or unsafe files are reported in one line
        lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
        reason = next((line for line in lines if "GLOBAL" in line), lines[0])  # torch names the refused object
        advice = "" if path.suffix == ".safetensors" else (
            "; idiff never unpickles code: convert the file to .safetensors on a machine where you trust it"
        )
        raise ConfigError(f"{path}: cannot read as a weights-only checkpoint ({reason}){advice}") from err
    while isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]  # Lightning / CompVis training checkpoints nest the weights
    if not isinstance(checkpoint, dict):
        raise ConfigError(f"{path}: holds a {type(checkpoint).__name__}, not a state dict")
    return {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}


def unet_in_channels(checkpoint: dict[str, torch.Tensor]) -> int | None:
    """Input channels of the checkpoint's UNet (4: text-to-image SD, 8: InstructPix2Pix / InstructDiffusion)."""
    conv_in = checkpoint.get(f"{LDM_UNET_KEY}input_blocks.0.0.weight")
    return None if conv_in is None else int(conv_in.shape[1])


def _load_strict(model: nn.Module, state: dict[str, Any], what: str, path: Path) -> None:
    state = {k: v for k, v in state.items() if v is not None and not k.endswith("position_ids")}
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise ConfigError(
            f"{path}: its {what} does not match model.pretrained_config ({len(missing)} missing, {len(unexpected)} "
            f"unexpected weights; {detail}); use the config folder of the same model"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = next((line.strip() for line in str(err).splitlines() if "size mismatch" in line), str(err))
        raise ConfigError(f"{path}: its {what} does not match model.pretrained_config: {first}") from err


def from_original(
    checkpoint: dict[str, torch.Tensor], name: str, config: dict[str, Any], path: Path
) -> UNet2DConditionModel | AutoencoderKL | CLIPTextModel:
    """Component ``name`` (``unet``, ``vae``, ``text_encoder``) built from ``config`` with the file's weights.

    The UNet takes the EMA weights when the file holds both (as diffusers' conversion of SD 1.5 does), and its
    input width from the file: an SD 1.5 config folder serves an 8-channel InstructPix2Pix file too.
    """
    match name:
        case "unet":
            config = {**config, "in_channels": unet_in_channels(checkpoint) or config["in_channels"]}
            model: nn.Module = UNet2DConditionModel.from_config(config)
            state = convert_ldm_unet_checkpoint(checkpoint, model.config, extract_ema=True)
        case "vae":
            model = AutoencoderKL.from_config(config)
            state = convert_ldm_vae_checkpoint(checkpoint, model.config)
        case "text_encoder":
            model = CLIPTextModel(config)
            state = convert_ldm_clip_checkpoint(checkpoint)
            if not hasattr(model, "text_model"):  # transformers >= 5.6 dropped the text_model wrapper
                state = {k.removeprefix("text_model."): v for k, v in state.items()}
        case _:
            raise ValueError(f"no original-format component {name!r}; allowed: unet, vae, text_encoder")
    if not state:
        raise ConfigError(f"{path}: holds no {name} weights (an original SD checkpoint has all three components)")
    _load_strict(model, state, name, path)
    return model.eval()


# ------------------------------------------------------------------------------------------------------- writing
def _rename(rest: list[str], table: dict[str, str]) -> str:
    joined = ".".join(rest)
    for new, old in table.items():
        if joined.startswith(new + "."):
            return old + joined[len(new):]
    return joined


def _unet_key(key: str, config: Any) -> str:
    top = dict(DIFFUSERS_TO_LDM_MAPPING["unet"]["layers"])  # diffusers name -> original name
    if config.class_embed_type in ("timestep", "projection"):
        top |= DIFFUSERS_TO_LDM_MAPPING["unet"]["class_embed_type"]
    if key in top:
        return top[key]
    per_block = int(config.layers_per_block) + 1  # LDM counts the down / up sampler as one more layer
    match key.split("."):
        case ["down_blocks", b, "resnets", j, *rest]:
            return f"input_blocks.{1 + int(b) * per_block + int(j)}.0.{_rename(rest, _UNET_RESNET)}"
        case ["down_blocks", b, "attentions", j, *rest]:
            return f"input_blocks.{1 + int(b) * per_block + int(j)}.1.{'.'.join(rest)}"
        case ["down_blocks", b, "downsamplers", "0", "conv", p]:
            return f"input_blocks.{(int(b) + 1) * per_block}.0.op.{p}"
        case ["mid_block", "resnets", j, *rest]:
            return f"middle_block.{2 * int(j)}.{_rename(rest, _UNET_RESNET)}"
        case ["mid_block", "attentions", "0", *rest]:
            return f"middle_block.1.{'.'.join(rest)}"
        case ["up_blocks", b, "resnets", j, *rest]:
            return f"output_blocks.{int(b) * per_block + int(j)}.0.{_rename(rest, _UNET_RESNET)}"
        case ["up_blocks", b, "attentions", j, *rest]:
            return f"output_blocks.{int(b) * per_block + int(j)}.1.{'.'.join(rest)}"
        case ["up_blocks", b, "upsamplers", "0", "conv", p]:
            slot = 2 if "CrossAttn" in config.up_block_types[int(b)] else 1
            return f"output_blocks.{int(b) * per_block + per_block - 1}.{slot}.conv.{p}"
    raise ConfigError(f"UNet weight {key!r} has no place in the original SD layout (only SD-1.x-style UNets export)")


def _vae_key(key: str, config: Any) -> str:
    top = DIFFUSERS_TO_LDM_MAPPING["vae"]
    if key in top:
        return top[key]
    shortcut = {"conv_shortcut": "nin_shortcut"}
    last_up = len(config.up_block_types) - 1  # LDM numbers decoder levels from the lowest resolution up
    match key.split("."):
        case [coder, "down_blocks", i, "resnets", j, *rest]:
            return f"{coder}.down.{i}.block.{j}.{_rename(rest, shortcut)}"
        case [coder, "down_blocks", i, "downsamplers", "0", "conv", p]:
            return f"{coder}.down.{i}.downsample.conv.{p}"
        case [coder, "up_blocks", i, "resnets", j, *rest]:
            return f"{coder}.up.{last_up - int(i)}.block.{j}.{_rename(rest, shortcut)}"
        case [coder, "up_blocks", i, "upsamplers", "0", "conv", p]:
            return f"{coder}.up.{last_up - int(i)}.upsample.conv.{p}"
        case [coder, "mid_block", "resnets", j, *rest]:
            return f"{coder}.mid.block_{int(j) + 1}.{_rename(rest, shortcut)}"
        case [coder, "mid_block", "attentions", "0", *rest]:
            return f"{coder}.mid.attn_1.{_rename(rest, _VAE_ATTENTION)}"
    raise ConfigError(f"VAE weight {key!r} has no place in the original SD layout")


def to_original_state_dict(
    unet: UNet2DConditionModel, vae: AutoencoderKL, text_encoder: CLIPTextModel
) -> dict[str, torch.Tensor]:
    """The three components' weights under their original SD names (what ``from_single_file`` reads)."""
    state = {}
    for key, value in unet.state_dict().items():
        state[LDM_UNET_KEY + _unet_key(key, unet.config)] = value
    for key, value in vae.state_dict().items():
        if ".mid_block.attentions." in key and key.endswith(".weight") and value.ndim == 2:
            value = value[:, :, None, None]  # the original VAE attention projections are 1x1 convolutions
        state[VAE_KEY + _vae_key(key, vae.config)] = value
    for key, value in text_encoder.state_dict().items():
        name = key if key.startswith("text_model.") else f"text_model.{key}"
        state[CLIP_KEY + name] = value
    return {k: v.detach() for k, v in state.items()}
