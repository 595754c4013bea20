"""Errors a user can act on. The CLI prints their message as one line and exits with status 2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ConfigError", "DataError", "IdiffError", "PluginError", "TrainingError", "config_flag"]


class IdiffError(Exception):
    """Base of every error whose message alone tells the user what to fix."""


class ConfigError(IdiffError):
    """A config value that cannot work: names the key and the allowed values."""


class DataError(IdiffError):
    """Unreadable or malformed input data: names the file and the field."""


class PluginError(IdiffError):
    """A task plugin that is unknown, broken, or does not honour the contract."""


class TrainingError(IdiffError):
    """Training cannot go on (e.g. a non-finite loss): names the step and the batch."""


def config_flag(section: Mapping[str, Any], name: str, group: str, default: bool) -> bool:
    """The boolean ``section[name]`` (``default`` when absent), or a :class:`ConfigError` naming ``group.name``.

    Hydra parses ``key=maybe`` as the string ``"maybe"``, which ``bool()`` would silently take as true.
    """
    value = section.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(f"{group}.{name}={value!r}: must be true or false")
    return value
