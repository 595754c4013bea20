"""What the ``idiff`` command prints: the metric table of ``validate`` / ``test``, without third-party noise.

Lightning prints each evaluation metric as a raw float (``0.05017301067709923``), one row per key, so a task's score
and its identity baseline (``identity/<metric>``, the unchanged source scored the same way) end up far apart. The
table here puts them side by side, one row per metric and one column per decoder and output::

    metric    generated   identity
    AP           0.0000     0.0000
    PCK@0.1      0.0502     0.0813

``metrics.json`` keeps every number at full precision. :func:`quiet_third_party` drops what a user cannot act
on: Lightning's advertisements ("Tip: ... try installing litlogger"), torch's deprecation warning for a pytree
class that Lightning's own code uses, and Lightning's note that ``fit`` has no validation data (idiff's ``fit``
never validates; ``idiff validate`` does).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence

__all__ = ["format_metric", "metric_rows", "print_metric_table", "quiet_third_party"]


def format_metric(value: float) -> str:
    """Four decimals for scores in [-10, 10] (AP, IoU, SSIM, L1), two for larger ones (PSNR in dB)."""
    value = float(value)
    return f"{value:.2f}" if abs(value) >= 10 else f"{value:.4f}"


def metric_rows(metrics: Mapping[str, float], decoders: Sequence[str]) -> tuple[list[str], dict[str, list]]:
    """Columns and rows of the table: one row per metric, one column per decoder and output.

    ``metrics`` as :class:`idiff.evaluation.TaskEvaluation` reports them: the first decoder's unprefixed
    (``PCK@0.1``, ``identity/PCK@0.1``), every other one's under ``<decoder>/``. Columns: ``generated`` and
    ``identity`` for the first decoder, ``<decoder>`` and ``<decoder> identity`` for each other one that reported
    metrics. Rows keep the first-seen order of the metric names; a missing value is None.
    """
    prefixes = [(f"{name}/", name) for name in decoders[1:]]
    cells: dict[tuple[str, str], float] = {}
    names: dict[str, None] = {}  # first-seen order
    for key, value in metrics.items():
        label, name = "", key
        for prefix, decoder in prefixes:
            if key.startswith(prefix):
                label, name = decoder, key[len(prefix):]
                break
        output = "identity" if name.startswith("identity/") else "generated"
        name = name.removeprefix("identity/")
        column = f"{label} {output}" if label and output == "identity" else (label or output)
        cells[(name, column)] = float(value)
        names.setdefault(name)
    used = {column for _, column in cells}
    order = ["generated", "identity", *(c for name in decoders[1:] for c in (name, f"{name} identity"))]
    header = [column for column in order if column in used]
    return header, {name: [cells.get((name, c)) for c in header] for name in names}


def print_metric_table(
    metrics: Mapping[str, float], title: str, decoders: Sequence[str] = ("analytic",),
    ms_per_image: Mapping[str, float] | None = None,
) -> None:
    """Print the metrics as a rich table (:func:`metric_rows`); with several decoders, each one's ms per image."""
    from rich.console import Console
    from rich.table import Table

    header, rows = metric_rows(metrics, decoders)
    table = Table()
    table.add_column("metric")
    for column in header:
        table.add_column(column, justify="right")
    for name, values in rows.items():
        table.add_row(name, *("" if v is None else format_metric(v) for v in values))
    if ms_per_image and len(decoders) > 1:
        decoder_of = {"generated": decoders[0], **{name: name for name in decoders[1:]}}  # identity columns: none
        ms = [ms_per_image.get(decoder_of.get(column, ""), None) for column in header]
        table.add_row("decode ms / image", *("" if m is None else f"{m:.2f}" for m in ms))
    print(title)  # above the table, not as its title: rich would wrap a title wider than the table
    Console().print(table)


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


def quiet_third_party() -> None:
    """Silence the library messages a user cannot act on (the module docstring lists them)."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropTips) for f in logger.filters):
            logger.addFilter(_DropTips())
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                            category=FutureWarning)
    warnings.filterwarnings("ignore", message="You defined a `validation_step` but have no `val_dataloader`")
