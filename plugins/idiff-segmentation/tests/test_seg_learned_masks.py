"""The referring task's learned-decoder hook: mask labels of requests and training samples, reading maps."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from idiff.tasks.api import DecoderSample, TaskContext

from idiff_segmentation.referring_task import ReferringConfig, ReferringSegmentationTask
from idiff_segmentation.semantic_task import SemanticConfig, SemanticSegmentationTask

RES = 64


def _task(root: Path, tmp_path: Path) -> ReferringSegmentationTask:
    shutil.copytree(root, tmp_path / "data")
    return ReferringSegmentationTask(ReferringConfig(data_dir=str(tmp_path / "data")),
                                     TaskContext(RES, tmp_path / "data", seed=3))


def test_request_labels_are_the_masks_the_evaluator_scores(refcoco_root: Path, tmp_path: Path) -> None:
    task = _task(refcoco_root, tmp_path)
    decoding = task.learned_decoding()
    assert decoding.channels == 1
    requests = task.test_requests()
    predictions = [decoding.read(decoding.label(r), r) for r in requests]
    assert all(p.shape == (RES, RES) and p.dtype == bool for p in predictions)
    metrics = task.evaluate(requests, predictions, tmp_path / "out")
    analytic = task.evaluate(requests, [task.decode(r.target, r) for r in requests], tmp_path / "analytic")
    # the labels are the run-resolution masks: they score what decoding the clean encodings scores, about 1
    assert metrics["cIoU"] > 0.95 and abs(metrics["cIoU"] - analytic["cIoU"]) < 0.03, (metrics, analytic)


def test_training_samples_mark_exactly_their_label(refcoco_root: Path, tmp_path: Path) -> None:
    samples = _task(refcoco_root, tmp_path).learned_decoding().train_dataset()
    for index in range(min(4, len(samples))):
        sample = samples[index]
        assert isinstance(sample, DecoderSample) and sample.label.shape == (1, RES, RES)
        changed = np.abs(sample.target.astype(int) - sample.source.astype(int)).sum(-1) > 0
        assert not (changed & (sample.label[0] == 0)).any()  # nothing changes outside the mask


def test_semantic_segmentation_has_no_learned_decoder_yet(cocostuff_root: Path, tmp_path: Path) -> None:
    shutil.copytree(cocostuff_root, tmp_path / "data")
    task = SemanticSegmentationTask(SemanticConfig(data_dir=str(tmp_path / "data")),
                                    TaskContext(RES, tmp_path / "data"))
    assert task.learned_decoding() is None
