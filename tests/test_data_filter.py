"""``idiff data filter``: KNN-GIQA against a brute-force reference, the rules, resuming, and a constructed set."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.distance import cdist

from idiff.cli import main
from idiff.data.error_policy import ErrorPolicy
from idiff.errors import ConfigError, DataError
from idiff.filtering.rules import PairScores, Thresholds, drop_reasons
from idiff.filtering.run import filter_pairs
from idiff.filtering.score_cache import ScoreCache
from idiff.quality.giqa import KnnGiqa
from idiff.quality.image_features import ImageFeatures


def test_knn_giqa_equals_brute_force_l1():
    rng = np.random.default_rng(0)
    reference, queries = rng.normal(size=(40, 8)), rng.normal(size=(7, 8))
    giqa = KnnGiqa(reference, k=3, chunk=4)
    expected = np.sort(cdist(queries, reference, "cityblock"), axis=1)[:, :3]
    np.testing.assert_allclose(giqa(queries), (1 / expected).sum(axis=1), rtol=1e-5)
    loo = cdist(reference, reference, "cityblock") + np.diag(np.full(40, np.inf))
    expected_loo = (1 / np.sort(loo, axis=1)[:, :3]).sum(axis=1)
    np.testing.assert_allclose(giqa.reference_scores(), expected_loo, rtol=1e-5)
    assert giqa.quantile(0.5) == pytest.approx(np.quantile(expected_loo, 0.5), rel=1e-5)
    with pytest.raises(ConfigError, match="k=40"):
        KnnGiqa(reference, k=40)


def test_rules_name_each_failed_rule():
    t = Thresholds(min_giqa=1.0, max_giqa_log_ratio=0.5, min_aesthetic=5.5, max_aesthetic_gap=0.5)
    assert drop_reasons(PairScores(2.0, 2.5, 6.0, 6.2), t) == {}
    assert set(drop_reasons(PairScores(2.0, 0.5, 6.0, 5.0), t)) == {
        "min_giqa", "max_giqa_log_ratio", "min_aesthetic", "max_aesthetic_gap"}
    assert set(drop_reasons(PairScores(1.2, 4.0), t)) == {"max_giqa_log_ratio"}  # no aesthetic scores: rules skipped
    off = Thresholds(min_giqa=None, max_giqa_log_ratio=None, min_aesthetic=None, max_aesthetic_gap=None)
    assert drop_reasons(PairScores(2.0, 0.01, 0.0, 9.0), off) == {}


def test_score_cache_survives_a_torn_line_and_ignores_other_settings(tmp_path):
    path = tmp_path / "scores.jsonl"
    cache = ScoreCache(path, {"backbone": "a"})
    cache.add({"x": {"giqa": 1.0}})
    with open(path, "a") as handle:
        handle.write('{"settings": "torn')
    again = ScoreCache(path, {"backbone": "a"})
    assert again.get("x") == {"giqa": 1.0}
    again.add({"y": {"giqa": 2.0}})
    assert ScoreCache(path, {"backbone": "a"}).get("y") == {"giqa": 2.0}
    assert ScoreCache(path, {"backbone": "b"}).get("x") is None


def _smooth(rng, size=48):
    """A low-frequency colour field: what the 'real' reference images look like."""
    coarse = rng.uniform(0, 255, size=(3, 3, 3))
    image = Image.fromarray(coarse.astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image)


def _noise(rng, size=48):
    return rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)


@pytest.fixture
def constructed(tmp_path):
    """A reference of 30 smooth images, and pairs: smooth -> smooth (keep), smooth -> noise, noise -> smooth (drop)."""
    rng = np.random.default_rng(1)
    (tmp_path / "reference").mkdir()
    for i in range(30):
        Image.fromarray(_smooth(rng)).save(tmp_path / "reference" / f"{i}.png")
    (tmp_path / "pairs").mkdir()
    kinds = {"good": (_smooth, _smooth), "bad_target": (_smooth, _noise), "gap": (_noise, _smooth)}
    lines = []
    for kind, (make_source, make_target) in kinds.items():
        for i in range(3):
            Image.fromarray(make_source(rng)).save(tmp_path / "pairs" / f"{kind}{i}_0.png")
            Image.fromarray(make_target(rng)).save(tmp_path / "pairs" / f"{kind}{i}_1.png")
            lines.append({"source": f"pairs/{kind}{i}_0.png", "target": f"pairs/{kind}{i}_1.png",
                          "instruction": f"edit {kind}", "kind": kind})
    manifest = tmp_path / "pairs.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return manifest


def _features():
    torch.manual_seed(0)  # the random backbone (no weights offline); `idiff data filter` seeds it from `seed`
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ImageFeatures("resnet10t", image_size=48, batch_size=4)


def _kinds(path):
    return [json.loads(line)["kind"] for line in path.read_text().splitlines()]


def test_filter_keeps_good_pairs_and_drops_low_and_mismatched_ones(constructed):
    reference = str(constructed.parent / "reference")
    report = filter_pairs(constructed, reference, Thresholds(), _features(), k=3, min_giqa_quantile=0.0)
    assert _kinds(report.outputs.kept) == ["good"] * 3
    dropped = [json.loads(line) for line in report.outputs.sibling("dropped.jsonl").read_text().splitlines()]
    assert sorted(d["kind"] for d in dropped) == ["bad_target"] * 3 + ["gap"] * 3
    assert report.reasons["min_giqa"] == 3 and report.reasons["max_giqa_log_ratio"] == 6
    kept = json.loads(report.outputs.kept.read_text().splitlines()[0])
    assert kept["giqa_target"] > 0 and kept["source"].startswith("pairs/")


class Killed(Exception):
    pass


def test_filter_resumes_from_its_score_cache(constructed):
    features = _features()
    calls = []
    kill_at = [2]

    def counting(images):
        calls.append(len(images))
        if len(calls) == kill_at[0]:
            raise Killed  # the run dies while scoring the second batch
        return np.full(len(images), 6.0)

    reference = str(constructed.parent / "reference")
    with pytest.raises(Killed):
        filter_pairs(constructed, reference, Thresholds(), features, k=3, aesthetic=counting)
    assert calls == [4, 4]
    calls.clear()
    kill_at[0] = 0  # the second run is not interrupted
    filter_pairs(constructed, reference, Thresholds(), features, k=3, aesthetic=counting)
    assert sum(calls) == 18 - 4  # the first batch came from the cache


def test_unreadable_image_is_named_or_dropped(constructed):
    (constructed.parent / "pairs" / "good0_1.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    reference = str(constructed.parent / "reference")
    with pytest.raises(DataError, match="good0_1.png"):
        filter_pairs(constructed, reference, Thresholds(), _features(), k=3, min_giqa_quantile=0.0)
    report = filter_pairs(constructed, reference, Thresholds(), _features(), k=3, min_giqa_quantile=0.0,
                          errors=ErrorPolicy("skip"))
    assert report.reasons["unreadable"] == 1 and _kinds(report.outputs.kept) == ["good"] * 2


def test_cli_filters_and_reports_bad_config_in_one_line(constructed, capsys):
    overrides = [f"filter.manifest={constructed}", f"filter.reference={constructed.parent / 'reference'}",
                 "filter.backbone=resnet10t", "filter.image_size=48", "filter.k=3", "filter.min_giqa_quantile=0",
                 f"paths.runs_dir={constructed.parent / 'runs'}"]
    main(["data", "filter", *overrides])
    out = capsys.readouterr().out
    assert "kept 3 of 9 pairs" in out and "aesthetic rules skipped" in out
    assert _kinds(constructed.with_name("pairs.filtered.jsonl")) == ["good"] * 3
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "filter", *overrides[1:]])
    assert exit_info.value.code == 2
    assert "filter.manifest" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "filter", *overrides, "filter.backbone=no_such_net"])
    assert "not a timm model" in capsys.readouterr().err
