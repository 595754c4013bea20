"""Errors a user can act on. The CLI prints their message as one line and exits with status 2."""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "IdiffError", "PluginError", "TrainingError"]


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
