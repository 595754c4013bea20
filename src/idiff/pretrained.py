"""Local pretrained weights: the sub-folders of a diffusers pipeline folder (unet/, vae/, text_encoder/, ...).

Nothing is ever downloaded: every loader passes ``local_files_only=True`` and a missing folder is named.
"""

from __future__ import annotations

from pathlib import Path

from idiff.errors import ConfigError

__all__ = ["pipeline_subfolder"]


def pipeline_subfolder(pretrained_path: str, name: str) -> str:
    """``<pretrained_path>/<name>`` as a string, or a ConfigError naming the missing folder."""
    folder = Path(pretrained_path) / name
    if not folder.is_dir():
        raise ConfigError(f"model.pretrained_path: {folder} is missing (expected a diffusers {name}/ folder)")
    return str(folder)
