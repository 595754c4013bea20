"""What a reader does with one bad record: stop with a clear error, or skip it, count it and say so at the end.

``data.on_error`` chooses for the whole run:

- ``raise`` (default): the first bad record stops the run with a one-line :class:`~idiff.errors.DataError` naming
  the file and the field.
- ``skip``: a bad record (an annotation, an image entry, a ref, an image or label map that cannot be read) is left
  out and counted; the run goes on and ends with a table of what was skipped (also written to ``skipped.json`` in
  the run directory). A file that cannot be read at all, or a dataset left with nothing, still stops the run.

A task receives its policy as ``TaskContext.errors`` and wraps the reading of each record in :meth:`ErrorPolicy.guard`.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

from idiff.errors import ConfigError, DataError
from idiff.files import atomic_write_json

__all__ = ["ON_ERROR_CHOICES", "ErrorPolicy", "report_skips"]

#: The values of ``data.on_error``.
ON_ERROR_CHOICES = ("raise", "skip")


class ErrorPolicy:
    """Raise or skip-and-count the :class:`DataError` of one record.

    Args:
        on_error: ``"raise"`` or ``"skip"``.
        name: what the counts belong to (the task name), for the report.
    """

    def __init__(self, on_error: str = "raise", name: str = "") -> None:
        if on_error not in ON_ERROR_CHOICES:
            raise ConfigError(f"data.on_error={on_error!r}: allowed values are {', '.join(ON_ERROR_CHOICES)}")
        self.on_error = on_error
        self.name = name
        self.skipped: list[str] = []

    @property
    def skips(self) -> bool:
        """Whether bad records are skipped (``on_error=skip``)."""
        return self.on_error == "skip"

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Read one record inside this block: under ``skip`` a DataError leaves the block and is counted."""
        try:
            yield
        except DataError as err:
            if not self.skips:
                raise
            self.record(str(err))

    def record(self, message: str) -> None:
        """Count one skipped record (``message`` names the file and the field)."""
        self.skipped.append(message)

    @property
    def count(self) -> int:
        """How many records were skipped."""
        return len(self.skipped)

    def require(self, count: int, what: str) -> None:
        """Raise when a reader is left with no records (``what`` names them and the file), saying what was skipped."""
        if count:
            return
        detail = f" ({self.count} skipped under data.on_error=skip; first: {self.skipped[0]})" if self.skipped else ""
        raise DataError(f"{what}: nothing usable{detail}")

    def by_reason(self) -> Counter[str]:
        """Counts per message with record ids removed, e.g. ``'<file>: annotation * is missing 'bbox''``."""
        return Counter(_reason(message) for message in self.skipped)


def _reason(message: str) -> str:
    words = message.split(" ")
    return " ".join("*" if w.strip(",:'#").lstrip("-").isdigit() else w for w in words)


def report_skips(policies: Mapping[str, ErrorPolicy], run_dir: str | Path | None = None, examples: int = 5) -> str:
    """A short report of every skip (empty when none); with ``run_dir``, also writes ``skipped.json`` there."""
    skipped = {name: policy.skipped for name, policy in policies.items() if policy.skipped}
    if not skipped:
        return ""
    lines = [f"data.on_error=skip: {sum(map(len, skipped.values()))} bad records skipped"]
    for name, messages in skipped.items():
        lines.append(f"  {name}: {len(messages)}")
        for reason, count in policies[name].by_reason().most_common(examples):
            lines.append(f"    {count:>6} x {reason}")
    if run_dir is not None:
        path = atomic_write_json(Path(run_dir) / "skipped.json", skipped)
        lines.append(f"  every skipped record: {path}")
    return "\n".join(lines)
