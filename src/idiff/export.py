"""``idiff export``: a checkpoint's weights in the formats other tools read.

- ``format=diffusers``: a :class:`~diffusers.StableDiffusionInstructPix2PixPipeline` folder (EMA UNet, VAE, CLIP
  text encoder and tokenizer, the sampler's scheduler on the model's noise schedule) that
  ``DiffusionPipeline.from_pretrained`` loads; it samples with the InstructPix2Pix guidance formula.
- ``format=original``: one ``.safetensors`` (or ``.ckpt``) file in the original SD layout
  (:mod:`idiff.original_format`), as SD 1.5 and InstructPix2Pix were released.
- ``format=idiff``: the compact idiff weights file (:func:`idiff.checkpoints.export_weights`).

The first two carry a plain latent-diffusion editing model, so they need one: a VAE codec (the tiny default's
space-to-depth codec has no diffusers counterpart), the target itself diffused (not ``model.residual``), and
no conditioning a diffusers pipeline does not pass (``model.mask_padding``, a projection class embedding).
A model that breaks one of these is refused in one line instead of being exported to produce other images.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from diffusers import StableDiffusionInstructPix2PixPipeline
from omegaconf import DictConfig
from safetensors.torch import save

from idiff.checkpoints import ema_unet, export_weights, load_module, resolve_checkpoint
from idiff.codecs import AutoencoderKLCodec
from idiff.diffusion.sampler import build_inference_scheduler
from idiff.errors import ConfigError
from idiff.files import atomic_folder, atomic_write_bytes
from idiff.module import DiffusionModule
from idiff.original_format import to_original_state_dict

__all__ = ["EXPORT_FORMATS", "export", "export_original", "export_pipeline", "interchange_problems"]

EXPORT_FORMATS = ("diffusers", "original", "idiff")


def interchange_problems(module: DiffusionModule) -> list[str]:
    """Why other tools would not reproduce this model's images (empty when they would)."""
    model = module.hparams["model"]
    problems = []
    if not isinstance(module.codec, AutoencoderKLCodec):
        problems.append(f"codec {model['codec']['kind']} has no diffusers VAE (needs model.codec.kind=autoencoder_kl)")
    if module.residual:
        problems.append("model.residual=true diffuses target - source, which SD pipelines do not undo")
    if module.preconditioning is not None:
        problems.append("model.preconditioning=edm scales the UNet's input and output, which SD pipelines do not")
    if module.unet.conv_norm_out is None:
        problems.append("model.output_norm=false drops the UNet's output GroupNorm, which diffusers' config cannot say")
    if module.source_filter is not None:
        problems.append("model.source_filter adds a filter of the source to the edit, which SD pipelines do not")
    if module.mask_padding:
        problems.append("model.mask_padding=true masks cross-attention, which SD pipelines do not")
    if module.unet.config.class_embed_type is not None:
        problems.append(f"UNet class_embed_type={module.unet.config.class_embed_type} needs inputs SD pipelines lack")
    if module.unet.config.in_channels != 2 * module.codec.latent_channels:
        problems.append(f"UNet has {module.unet.config.in_channels} input channels, not noisy + source latents")
    return problems


def _check_interchangeable(module: DiffusionModule, fmt: str) -> None:
    problems = interchange_problems(module)
    if problems:
        raise ConfigError(f"format={fmt} cannot carry this model: {'; '.join(problems)}; use format=idiff")


def export_pipeline(
    module: DiffusionModule, folder: str | Path, scheduler: str = "euler_ancestral", use_ema: bool = True
) -> Path:
    """Write an InstructPix2Pix pipeline folder (atomically: a temporary folder renamed into place)."""
    _check_interchangeable(module, "diffusers")
    inference = build_inference_scheduler(scheduler, module.noise_scheduler.config)
    if inference.config.get("model_prediction_type") == "sample":
        raise ConfigError(
            f"format=diffusers: diffusers' {type(inference).__name__} cannot take the model's x0 (sample) "
            "predictions; export with sampler.scheduler=ddim or dpm_solver"
        )
    pipeline = StableDiffusionInstructPix2PixPipeline(
        vae=module.codec.vae, text_encoder=module.text_encoder, tokenizer=module.tokenizer,
        unet=ema_unet(module, use_ema), scheduler=inference, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    with atomic_folder(folder) as tmp:
        pipeline.save_pretrained(tmp, safe_serialization=True)
    return Path(folder)


def export_original(module: DiffusionModule, path: str | Path, use_ema: bool = True) -> Path:
    """Write UNet (EMA), VAE and text encoder as one original-layout ``.safetensors`` or ``.ckpt`` file."""
    _check_interchangeable(module, "original")
    path = Path(path)
    state = to_original_state_dict(ema_unet(module, use_ema), module.codec.vae, module.text_encoder)
    state = {k: v.cpu().contiguous() for k, v in state.items()}
    match path.suffix:
        case ".safetensors":
            data = save(state, metadata={"format": "pt"})
        case ".ckpt":
            buffer = io.BytesIO()
            torch.save({"state_dict": state}, buffer)
            data = buffer.getvalue()
        case _:
            raise ConfigError(f"output={path}: format=original writes a .safetensors or .ckpt file")
    return atomic_write_bytes(path, data)


def export(cfg: DictConfig) -> Path:
    """The ``idiff export`` verb: ``ckpt`` (latest, reference or a path) to ``output`` in ``format``."""
    fmt, output = cfg.get("format") or "diffusers", cfg.get("output")
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"format={fmt!r}; allowed: {', '.join(EXPORT_FORMATS)}")
    if not output:
        raise ConfigError("export needs output=PATH (a folder for format=diffusers, a .safetensors file otherwise)")
    checkpoint = resolve_checkpoint(cfg.ckpt, cfg.paths.runs_dir)
    module = load_module(checkpoint)
    use_ema = bool(cfg.sampler.use_ema)
    alpha = module.use_inference_weights(use_ema, cfg.get("wise_ft"))  # the weights are now those to export
    match fmt:
        case "diffusers":
            path = export_pipeline(module, output, cfg.sampler.scheduler, use_ema=False)
        case "original":
            path = export_original(module, output, use_ema=False)
        case _:
            path = export_weights(module, output, use_ema=False)
    average = "" if alpha is None else f", averaged with the start weights by WiSE-FT at alpha {alpha}"
    print(f"export: {checkpoint} -> {path} (format={fmt}, {'EMA' if use_ema else 'raw'} UNet weights{average})")
    return path
