"""``idiff data filter ...``: the ``filter.*`` config -> :func:`idiff.filtering.run.filter_pairs` -> a summary table."""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from idiff.data.error_policy import ErrorPolicy
from idiff.errors import ConfigError
from idiff.filtering.rules import Thresholds
from idiff.filtering.run import FilterReport, Scorer, filter_pairs
from idiff.quality.image_features import ImageFeatures

__all__ = ["aesthetic_scorer", "filter_data"]


def _optional(value: object) -> float | None:
    return None if value is None else float(value)


def aesthetic_scorer(options: DictConfig) -> Scorer | None:
    """The LAION aesthetic scorer when both local files are configured; None (with a message) when neither is."""
    clip_model, predictor = options.get("clip_model"), options.get("aesthetic_predictor")
    if clip_model is None and predictor is None:
        print(
            "filter: aesthetic rules skipped: set filter.clip_model=<local CLIP ViT-L/14 folder> and "
            "filter.aesthetic_predictor=<LAION improved-aesthetic-predictor weights> to apply them"
        )
        return None
    if clip_model is None or predictor is None:
        missing = "filter.clip_model" if clip_model is None else "filter.aesthetic_predictor"
        raise ConfigError(f"the aesthetic score needs filter.clip_model and filter.aesthetic_predictor; set {missing}")
    from idiff.quality.aesthetic import AestheticScorer

    return AestheticScorer(clip_model, predictor, batch_size=int(options.batch_size))


def _print(report: FilterReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"idiff data filter: kept {report.kept} of {report.pairs} pairs")
    table.add_column("rule")
    table.add_column("threshold", justify="right")
    table.add_column("pairs dropped by it", justify="right")
    for rule, value in vars(report.thresholds).items():
        shown = "off" if value is None else f"{value:.4g}"
        table.add_row(rule, shown, str(report.reasons.get(rule, 0)))
    table.add_row("unreadable", "-", str(report.reasons.get("unreadable", 0)))
    Console().print(table)
    print(f"filter: kept pairs -> {report.outputs.kept}; dropped -> {report.outputs.sibling('dropped.jsonl')}")


def filter_data(cfg: DictConfig) -> FilterReport:
    """Run the data filter as configured under ``filter`` (conf/config.yaml documents each key)."""
    options = cfg.filter
    for key in ("manifest", "reference"):
        if not options.get(key):
            raise ConfigError(f"idiff data filter needs filter.{key}=... (docs/user-guide.md, 'Filtering')")
    torch.manual_seed(int(cfg.seed))  # a randomly initialised backbone is the same on every (resumed) run
    features = ImageFeatures(
        options.backbone, options.backbone_weights, int(options.image_size), int(options.batch_size), options.device
    )
    thresholds = Thresholds(
        max_giqa_log_ratio=_optional(options.max_giqa_log_ratio),
        min_aesthetic=_optional(options.min_aesthetic),
        max_aesthetic_gap=_optional(options.max_aesthetic_gap),
    )
    keys = ("backbone", "backbone_weights", "image_size", "clip_model", "aesthetic_predictor")
    settings = {**{key: options.get(key) for key in keys}, "seed": int(cfg.seed)}
    report = filter_pairs(
        options.manifest,
        str(options.reference),
        thresholds,
        features,
        output=options.output,
        k=int(options.k),
        min_giqa_quantile=_optional(options.min_giqa_quantile),
        aesthetic=aesthetic_scorer(options),
        errors=ErrorPolicy(cfg.data.get("on_error", "raise"), "filter"),
        settings=settings,
    )
    _print(report)
    return report
