"""``idiff data filter``: score every image of an editing manifest, apply the paper's rules, write what is kept.

Data flow: manifest (:mod:`idiff.data.manifest`) -> the distinct images of its pairs -> scores (KNN-GIQA against
the reference set's features, :mod:`idiff.quality.giqa`; the LAION aesthetic score when a local CLIP folder and
predictor are configured) -> :func:`idiff.filtering.rules.drop_reasons` per pair -> outputs. Scores are appended to
a cache after each batch (:mod:`idiff.filtering.score_cache`), so a killed run resumes where it stopped; the reference
features are kept too. Outputs, each written whole or not at all, beside ``filter.output``::

    <output>                      the kept pairs, with their scores added as extra keys
    <stem>.dropped.jsonl          the dropped pairs, with a "drop_reasons" list
    <stem>.report.json            counts per rule, thresholds, settings
    <stem>.scores.jsonl           the score cache (keep it to resume or to re-filter with other thresholds)
    <stem>.reference.npz          the reference features
"""

from __future__ import annotations

import glob
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from idiff.data.error_policy import ErrorPolicy
from idiff.data.images import IMAGE_SUFFIXES, read_rgb
from idiff.data.manifest import ManifestRecord, read_manifest, write_manifest
from idiff.errors import ConfigError, DataError
from idiff.files import atomic_write, atomic_write_json
from idiff.filtering.rules import PairScores, Thresholds, drop_reasons
from idiff.filtering.score_cache import ScoreCache, file_key, fingerprint
from idiff.quality.giqa import KnnGiqa
from idiff.quality.image_features import ImageFeatures

__all__ = ["FilterReport", "Outputs", "filter_pairs", "reference_images"]

#: Scores images in batches: uint8 (H, W, 3) arrays -> (N,) floats.
Scorer = Callable[[Sequence[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Outputs:
    """The files one filter run writes (see the module docstring)."""

    kept: Path

    @classmethod
    def beside(cls, manifest: Path, output: str | Path | None) -> Outputs:
        kept = Path(output) if output else manifest.with_name(f"{manifest.stem}.filtered.jsonl")
        if kept.resolve() == manifest.resolve():
            raise ConfigError(f"filter.output={kept} is the manifest itself; name another file")
        return cls(kept)

    def sibling(self, suffix: str) -> Path:
        return self.kept.with_name(f"{self.kept.stem}.{suffix}")


@dataclass
class FilterReport:
    """What one run did: pair counts, counts per rule, the thresholds used."""

    pairs: int
    kept: int
    dropped: int
    reasons: Counter[str]
    thresholds: Thresholds
    outputs: Outputs

    def as_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "kept": self.kept,
            "dropped": self.dropped,
            "drop_reasons": dict(self.reasons),
            "thresholds": vars(self.thresholds),
            "kept_manifest": str(self.outputs.kept),
        }


def _check_reachable(records: list[ManifestRecord], output: Path) -> None:
    """The written manifests name images relative to their folder, so that folder must contain every image."""
    folder = output.resolve().parent
    for record in records:
        for path in (record.source, record.target):
            if not path.resolve().is_relative_to(folder):
                raise ConfigError(
                    f"filter.output={output}: its folder does not contain {path} (line {record.line}); "
                    "write the filtered manifest beside the input manifest or in a folder above its images"
                )


def reference_images(spec: str) -> list[Path]:
    """GIQA's reference images: a manifest's targets, every image under a folder, or a glob's images."""
    path = Path(spec)
    if path.is_file() and path.suffix == ".jsonl":
        paths = [record.target for record in read_manifest(path)]
    elif path.is_dir():
        paths = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    else:
        paths = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ConfigError(f"filter.reference={spec}: no images (a folder, a glob, or a .jsonl manifest)")
    return paths


def _reference_features(
    paths: list[Path], keys: list[str], embed: ImageFeatures, store: Path, settings: dict[str, Any]
) -> np.ndarray:
    """Features of the reference images (``keys``: their :func:`file_key`), reused from ``store`` when unchanged."""
    key = fingerprint({**settings, "files": keys})
    if store.exists():
        with np.load(store) as cached:
            if str(cached["fingerprint"]) == key:
                return cached["features"]
    batches = []
    with tqdm(total=len(paths), desc="reference", unit="image") as bar:
        for start in range(0, len(paths), embed.batch_size):
            chunk = paths[start : start + embed.batch_size]
            batches.append(embed([read_rgb(p) for p in chunk]))
            bar.update(len(chunk))
    array = np.concatenate(batches)

    def write(handle: io.BufferedIOBase) -> None:
        np.savez(handle, features=array, fingerprint=np.array(key))

    atomic_write(store, write)
    return array


def _score_images(
    paths: list[Path],
    cache: ScoreCache,
    scorers: dict[str, Scorer],
    errors: ErrorPolicy,
    batch_size: int,
) -> dict[Path, dict[str, float | None]]:
    """Scores of every readable image (from the cache where present); unreadable ones are left out under skip."""
    keys = {path: file_key(path) for path in paths if path.is_file()}
    for path in paths:
        if path not in keys:
            with errors.guard():
                raise DataError(f"{path}: image file does not exist")
    todo = [p for p in keys if cache.get(keys[p]) is None]
    with tqdm(total=len(keys), initial=len(keys) - len(todo), desc="score", unit="image") as bar:
        for start in range(0, len(todo), batch_size):
            batch, images = [], []
            for path in todo[start : start + batch_size]:
                with errors.guard():
                    images.append(read_rgb(path))
                    batch.append(path)
            columns = {name: scorer(images) for name, scorer in scorers.items()} if images else {}
            cache.add({keys[p]: {name: float(v[i]) for name, v in columns.items()} for i, p in enumerate(batch)})
            bar.update(len(todo[start : start + batch_size]))
    return {path: scores for path, key in keys.items() if (scores := cache.get(key)) is not None}


def filter_pairs(
    manifest: str | Path,
    reference: str,
    thresholds: Thresholds,
    features: ImageFeatures,
    output: str | Path | None = None,
    k: int = 5,
    min_giqa_quantile: float | None = 0.05,
    aesthetic: Scorer | None = None,
    errors: ErrorPolicy | None = None,
    settings: dict[str, Any] | None = None,
) -> FilterReport:
    """Filter the pairs of ``manifest``; see the module docstring for what is written.

    Args:
        manifest: the JSONL manifest of editing pairs.
        reference: GIQA's reference images (:func:`reference_images`).
        thresholds: the rules; ``min_giqa`` is set from ``min_giqa_quantile`` when that is not None.
        features: the feature extractor for GIQA.
        output: the kept-pairs manifest (default ``<manifest stem>.filtered.jsonl`` beside it).
        k: GIQA's neighbours.
        min_giqa_quantile: drop targets below this quantile of the reference's leave-one-out GIQA scores.
        aesthetic: the aesthetic scorer, or None to skip the aesthetic rules.
        errors: what to do with unreadable lines and images (default raise; under skip their pairs are dropped).
        settings: what the scores depend on besides the reference (backbone, weights, image size ...), for the cache.
    """
    manifest = Path(manifest)
    errors = errors or ErrorPolicy()
    outputs = Outputs.beside(manifest, output)
    records = read_manifest(manifest, errors)
    errors.require(len(records), f"manifest {manifest}")
    _check_reachable(records, outputs.kept)
    ref_paths = reference_images(reference)
    settings = {**(settings or {}), "k": k, "aesthetic": aesthetic is not None}
    ref_keys = [file_key(p) for p in ref_paths]
    ref_features = _reference_features(ref_paths, ref_keys, features, outputs.sibling("reference.npz"), settings)
    giqa = KnnGiqa(ref_features, k=k)
    if min_giqa_quantile is not None:
        thresholds = replace(thresholds, min_giqa=giqa.quantile(min_giqa_quantile))
    scorers: dict[str, Scorer] = {"giqa": lambda images: giqa(features(images))}
    if aesthetic is not None:
        scorers["aesthetic"] = aesthetic
    cache_settings = {**settings, "reference": fingerprint({"files": ref_keys})}
    cache = ScoreCache(outputs.sibling("scores.jsonl"), cache_settings)
    images = list(dict.fromkeys(p for record in records for p in (record.source, record.target)))
    scores = _score_images(images, cache, scorers, errors, features.batch_size)

    kept: list[ManifestRecord] = []
    dropped: list[ManifestRecord] = []
    reasons: Counter[str] = Counter()
    for record in records:
        source, target = scores.get(record.source), scores.get(record.target)
        if source is None or target is None:
            why = {"unreadable": "an image of the pair is missing or unreadable (see report.json 'skipped')"}
        else:
            pair = PairScores(source.get("giqa"), target.get("giqa"), source.get("aesthetic"), target.get("aesthetic"))
            why = drop_reasons(pair, thresholds)
            added = {f"{name}_source": value for name, value in source.items()}
            added |= {f"{name}_target": value for name, value in target.items()}
            record = replace(record, extra={**record.extra, **added})
        reasons.update(why.keys())
        if why:
            dropped.append(replace(record, extra={**record.extra, "drop_reasons": list(why.values())}))
        else:
            kept.append(record)
    write_manifest(outputs.kept, kept)
    write_manifest(outputs.sibling("dropped.jsonl"), dropped)
    report = FilterReport(len(records), len(kept), len(dropped), reasons, thresholds, outputs)
    details = {**report.as_dict(), "settings": settings, "skipped": errors.skipped}
    atomic_write_json(outputs.sibling("report.json"), details)
    return report
