"""Local pretrained weights: a diffusers pipeline folder, or an original single-file checkpoint plus its configs.

``model.pretrained_path`` names either a diffusers folder (``unet/ vae/ text_encoder/ tokenizer/``, what
``save_pretrained`` writes) or an original SD 1.5 / InstructPix2Pix / InstructDiffusion ``.ckpt`` /
``.safetensors`` file. A single file holds weights only, so ``model.pretrained_config`` must name a local diffusers
folder of the same model whose ``*/config.json`` files and ``tokenizer/`` describe it (its weights are not read);
this is what diffusers' ``from_single_file(config=...)`` asks for. Nothing is ever downloaded: folders are read
with ``local_files_only=True`` and anything missing is named in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from idiff.errors import ConfigError

__all__ = ["SINGLE_FILE_SUFFIXES", "PretrainedSource", "as_pretrained_source", "pipeline_subfolder"]

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")


def pipeline_subfolder(pretrained_path: str | Path, name: str, key: str = "model.pretrained_path") -> str:
    """``<pretrained_path>/<name>`` as a string, or a ConfigError naming the missing folder and the config key."""
    folder = Path(pretrained_path) / name
    if not folder.is_dir():
        raise ConfigError(f"{key}: {folder} is missing (expected a diffusers {name}/ folder)")
    return str(folder)


class PretrainedSource:
    """Where the pretrained components come from; reads a single file once, however many components it feeds.

    Args:
        path: a diffusers pipeline folder, or an original ``.ckpt`` / ``.safetensors`` file.
        config: with a single file, a diffusers folder of the same model that supplies the configs and tokenizer.
    """

    def __init__(self, path: str | Path, config: str | Path | None = None) -> None:
        self.path = Path(path)
        self.config = Path(config) if config else None
        self._checkpoint: dict[str, torch.Tensor] | None = None
        if self.path.is_file() and self.path.suffix not in SINGLE_FILE_SUFFIXES:
            raise ConfigError(
                f"model.pretrained_path: {self.path} is neither a diffusers folder nor an original checkpoint "
                f"({', '.join(SINGLE_FILE_SUFFIXES)})"
            )
        if not self.path.exists():
            raise ConfigError(
                f"model.pretrained_path: {self.path} does not exist (expected a diffusers folder or an original "
                ".ckpt / .safetensors file)"
            )
        if self.is_single_file and self.config is None:
            raise ConfigError(
                f"model.pretrained_path: {self.path} is a single file; set model.pretrained_config to a local "
                "diffusers folder of the same model (unet/, vae/, text_encoder/ configs and tokenizer/)"
            )

    @classmethod
    def from_model_config(cls, model: Mapping[str, Any]) -> PretrainedSource | None:
        """The source named by ``model.pretrained_path`` / ``model.pretrained_config``, or None without a path."""
        path = model.get("pretrained_path")
        return cls(path, model.get("pretrained_config")) if path else None

    @property
    def is_single_file(self) -> bool:
        return self.path.is_file()

    def subfolder(self, name: str) -> str:
        """The folder holding component ``name``'s config (and, for a diffusers folder, its weights)."""
        if self.is_single_file:
            return pipeline_subfolder(self.config, name, key="model.pretrained_config")
        return pipeline_subfolder(self.path, name)

    def where(self, name: str) -> str:
        """Where component ``name``'s weights are, for messages."""
        return f"{self.path} ({name})" if self.is_single_file else str(self.path / name)

    def checkpoint(self) -> dict[str, torch.Tensor]:
        """The single file's tensors, read (weights-only) on first use."""
        from idiff.original_format import read_original_checkpoint

        if self._checkpoint is None:
            self._checkpoint = read_original_checkpoint(self.path)
        return self._checkpoint

    def load(self, name: str, cls: type) -> Any:
        """Component ``name`` (``unet``, ``vae``, ``text_encoder``, ``tokenizer``) as an instance of ``cls``."""
        folder = self.subfolder(name)
        if not self.is_single_file or name == "tokenizer":
            return cls.from_pretrained(folder, local_files_only=True)
        from idiff.original_format import from_original

        config_file = Path(folder) / "config.json"
        if not config_file.is_file():
            raise ConfigError(f"model.pretrained_config: {config_file} is missing (the {name} config)")
        if hasattr(cls, "load_config"):  # diffusers models
            config: Any = cls.load_config(folder, local_files_only=True)
        else:  # transformers models
            config = cls.config_class.from_pretrained(folder, local_files_only=True)
        return from_original(self.checkpoint(), name, config, self.path)


def as_pretrained_source(pretrained: str | Path | PretrainedSource | None) -> PretrainedSource | None:
    """Accept a path (a diffusers folder) where a :class:`PretrainedSource` is expected."""
    if pretrained is None or isinstance(pretrained, PretrainedSource):
        return pretrained
    return PretrainedSource(pretrained) if str(pretrained) else None
