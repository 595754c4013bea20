"""Tables and plots of each task's test metrics against one varied quantity, with the identity baseline.

A helper module, not a benchmark (nox skips ``bench/_*.py``): ``quality_curve.py`` varies the training minutes,
``wise_ft_sweep.py`` the WiSE-FT alpha. A row is ``{<column>: value, ..., "metrics": {task: {metric: value}}}``;
``tasks`` maps each task to its identity (unchanged-source) metrics, which also name the metrics shown.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state


def split_identity(metrics: dict[str, float], shown: tuple[str, ...]) -> tuple[dict[str, float], dict[str, float]]:
    """``evaluate``'s metrics as (generated, identity), each kept to the ``shown`` names (all when it has none)."""

    def headline(values: dict[str, float]) -> dict[str, float]:
        return {k: v for k, v in values.items() if k in shown} or values

    generated = {k: v for k, v in metrics.items() if not k.startswith("identity/")}
    identity = {k.split("/", 1)[1]: v for k, v in metrics.items() if k.startswith("identity/")}
    return headline(generated), headline(identity)


def table(rows: list[dict], tasks: dict[str, dict[str, float]], columns: dict[str, str]) -> str:
    """Markdown: the row's ``columns`` (name -> format, e.g. ``{"minutes": "{:.1f}"}``), then one column per (task,
    metric); one row per measured point, the identity baseline last."""
    metrics = [(t, m) for t, identity in tasks.items() for m in identity]
    head = "| " + " | ".join(columns) + " | " + " | ".join(f"{t} {m}" for t, m in metrics) + " |"
    lines = [head, "|" + "---|" * (len(columns) + len(metrics))]
    for row in rows:
        keys = " | ".join(fmt.format(row[name]) for name, fmt in columns.items())
        values = " | ".join(f"{row['metrics'][t][m]:.3f}" for t, m in metrics)
        lines.append(f"| {keys} | {values} |")
    blanks = " |" * (len(columns) - 1)
    lines.append(f"| identity |{blanks} " + " | ".join(f"{tasks[t][m]:.3f}" for t, m in metrics) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], tasks: dict[str, dict[str, float]], title: str, x: str, xlabel: str) -> bytes:
    """One panel per task: each metric against ``row[x]``, its identity value dashed in the same colour; a PNG.

    Metrics above 1 (PSNR in dB) get the left axis and the others (SSIM, IoU, ...) a right-hand one, each scaled to
    its own values, so a fraction of a dB stays visible beside a [0, 1] metric; one axis from 0 when all are <= 1.
    """
    fig = Figure(figsize=(4.2 * len(tasks), 3.6))
    axes = fig.subplots(1, len(tasks), squeeze=False)
    xs = [row[x] for row in rows]
    for ax, (task, identity) in zip(axes[0], tasks.items(), strict=True):
        series = {metric: [row["metrics"][task][metric] for row in rows] for metric in identity}
        large = {metric for metric, values in series.items() if max([*values, identity[metric]]) > 1.0}
        twin = ax.twinx() if large and len(large) < len(series) else None
        for i, (metric, floor) in enumerate(identity.items()):
            where = twin if twin is not None and metric not in large else ax
            colour = f"C{i}"
            where.plot(xs, series[metric], "o-", color=colour, label=metric)
            where.axhline(floor, color=colour, linestyle="--", linewidth=1, label=f"identity {metric}")
        if twin is None and not large:
            ax.set_ylim(bottom=0.0)
        handles = [h for a in (ax, twin) if a is not None for h in a.get_legend_handles_labels()[0]]
        ax.legend(handles=handles, fontsize=7)
        ax.set_title(task, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
