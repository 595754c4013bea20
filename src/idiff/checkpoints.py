"""Checkpoints: find the latest run's, load without executing code, export compact safetensors weights.

Lightning ``.ckpt`` files are read with ``torch.load(weights_only=True)``; our compact format is a safetensors file
whose metadata holds the module's hyper-parameters as JSON (the shipped reference checkpoint is one).
"""

from __future__ import annotations

import copy
import json
import sys
from importlib import resources
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save

from idiff.checkpoint_io import is_complete_checkpoint
from idiff.diffusion.unet import widen_conv_in
from idiff.errors import ConfigError
from idiff.files import atomic_write_bytes
from idiff.module import DiffusionModule

__all__ = [
    "REFERENCE_CHECKPOINT",
    "ema_unet",
    "export_weights",
    "find_latest_checkpoint",
    "init_weights",
    "load_module",
    "resolve_checkpoint",
]

REFERENCE_CHECKPOINT = "reference-keypoints.safetensors"


def find_latest_checkpoint(runs_dir: str | Path) -> Path | None:
    """The ``last.ckpt`` of the newest fit run under ``<runs_dir>/fit`` (by modification time), if any.

    A file that is not a whole checkpoint (cut short by a crash while it was written in place, e.g. by another
    tool) is passed over with a warning, so the newest *complete* one is returned.
    """
    candidates = sorted(Path(runs_dir).glob("fit/*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    for path in reversed(candidates):
        if is_complete_checkpoint(path):
            return path
        print(f"idiff: warning: {path} is not a complete checkpoint (cut short?); passed over", file=sys.stderr)
    return None


def reference_checkpoint() -> Path:
    """The reference checkpoint shipped inside the package."""
    path = Path(str(resources.files("idiff").joinpath("assets", REFERENCE_CHECKPOINT)))
    if not path.is_file():
        raise ConfigError(
            f"ckpt=reference: this version ships no reference checkpoint ({path} is absent; README.md, 'Results "
            "of the default run', says why); use ckpt=latest after `idiff fit`, or ckpt=<path>"
        )
    return path


def resolve_checkpoint(ckpt: str | None, runs_dir: str | Path) -> Path:
    """Turn the ``ckpt`` config value (``latest``, ``reference`` or a path) into an existing file."""
    match ckpt:
        case None | "" | "latest":
            found = find_latest_checkpoint(runs_dir)
            if found is None:
                raise ConfigError(
                    f"ckpt=latest: no fit run with checkpoints/last.ckpt under {Path(runs_dir) / 'fit'}; "
                    "run `idiff fit` first, or pass ckpt=reference or ckpt=<path>"
                )
            return found.resolve()
        case "reference":
            return reference_checkpoint()
        case _:
            path = Path(ckpt)
            if not path.is_file():
                raise ConfigError(f"ckpt={ckpt}: no such file (allowed: latest, reference, or a checkpoint path)")
            return path.resolve()


def ema_unet(module: DiffusionModule, use_ema: bool = True) -> UNet2DConditionModel:
    """A copy of the module's UNet holding the EMA weights (when ``use_ema`` and the module keeps an EMA)."""
    unet = copy.deepcopy(module.unet)
    if use_ema and module.ema is not None:
        module.ema.copy_to(unet.parameters())
    return unet


def ema_state_dict(module: DiffusionModule, use_ema: bool = True) -> dict[str, torch.Tensor]:
    """The module's state dict with the EMA's weights for what it averages (the UNet, ``model.source_filter``)."""
    state = dict(module.state_dict())
    if not use_ema or module.ema is None:
        return state
    names = {id(p): name for name, p in module.named_parameters()}
    averaged = zip(module.ema_parameters(), module.ema.shadow_params, strict=True)
    return state | {names[id(p)]: shadow.detach().clone() for p, shadow in averaged}


def export_weights(module: DiffusionModule, path: str | Path, use_ema: bool = True, half: bool = True) -> Path:
    """Write the module's weights (the EMA's when ``use_ema``) and hyper-parameters as one safetensors file."""
    state = ema_state_dict(module, use_ema)
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    metadata = {"hyper_parameters": json.dumps(dict(module.hparams)), "format": "idiff-weights-1"}
    return atomic_write_bytes(path, save(state, metadata=metadata))


def load_module(path: str | Path) -> DiffusionModule:
    """A :class:`DiffusionModule` from a Lightning ``.ckpt`` or an idiff ``.safetensors`` file, on the CPU."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        if "hyper_parameters" not in metadata:
            raise ConfigError(f"{path}: not an idiff weights file (no 'hyper_parameters' in its metadata)")
        module = DiffusionModule(**json.loads(metadata["hyper_parameters"]))
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
        module.load_state_dict(state)
        if module.ema is not None:
            module.ema = None  # the file already holds the EMA weights
        return module
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - report unreadable / unsafe files in one line
        raise ConfigError(f"{path}: cannot load as a weights-only checkpoint: {type(err).__name__}: {err}") from err
    if "hyper_parameters" not in checkpoint or "state_dict" not in checkpoint:
        raise ConfigError(f"{path}: not an idiff Lightning checkpoint (missing hyper_parameters / state_dict)")
    module = DiffusionModule(**checkpoint["hyper_parameters"])
    module.load_state_dict(checkpoint["state_dict"])
    module.on_load_checkpoint(checkpoint)
    return module


#: parts a model may add to the one it starts from (``init_weights``): they start at zero, so the loaded model
#: behaves exactly as before until they learn (``model.source_filter``).
ZERO_START_PREFIXES = ("source_filter.",)


def init_weights(module: DiffusionModule, path: str | Path) -> None:
    """Start ``module`` from the weights in ``path`` (a ``.ckpt`` or ``.safetensors`` of the same model).

    Fine-tuning, not resuming: the optimizer and step count start afresh; the EMA restarts from the loaded UNet.
    A checkpoint hands on the weights it generates with: its EMA weights, averaged with its own start weights when
    its fit had ``stage.wise_ft`` (what ``idiff test`` scored); a text-to-image UNet (stage 1) gets ``conv_in``
    widened to the editing UNet's inputs with zero weights for the source latent (stage 1 -> stage 2 hand-off). A
    part the model adds that starts at zero (``ZERO_START_PREFIXES``: the source filter) may be absent from ``path``.
    """
    source = load_module(path)
    source.use_inference_weights(use_ema=True)
    if source.unet.config.in_channels < module.unet.config.in_channels:
        widen_conv_in(source.unet, module.unet.config.in_channels)
    try:
        missing, unexpected = module.load_state_dict(source.state_dict(), strict=False)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise ConfigError(f"init_weights={path}: weights do not fit the configured model ({first}); give the model "
                          "they were trained with, or train from scratch with init_weights=null") from err
    absent = [k for k in missing if not k.startswith(ZERO_START_PREFIXES)]
    if absent or unexpected:
        first = f"missing {absent[0]!r}" if absent else f"unexpected {unexpected[0]!r}"
        raise ConfigError(f"init_weights={path}: weights do not fit the configured model ({first}; "
                          f"{len(absent)} missing, {len(unexpected)} unexpected); give the model they were trained "
                          "with, or train from scratch with init_weights=null")
    if module.ema is not None:
        module.ema = type(module.ema)(module.ema_parameters(), decay=module.ema.decay)


def main(argv: list[str] | None = None) -> None:
    """``python -m idiff.checkpoints export CKPT OUT.safetensors``: compact EMA weights for shipping."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m idiff.checkpoints")
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write a Lightning checkpoint's EMA weights as fp16 safetensors")
    export.add_argument("checkpoint")
    export.add_argument("output")
    args = parser.parse_args(argv)
    path = export_weights(load_module(resolve_checkpoint(args.checkpoint, ".")), args.output)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
