"""The keypoints task's learned-decoder hook: heatmap labels, reading them back, the training samples."""

from __future__ import annotations

import numpy as np
from idiff.tasks.api import DecoderSample

from idiff_keypoints.encoding import COLOUR_NAMES, COLOURS
from idiff_keypoints.heatmaps import heatmap_label, read_heatmaps
from idiff_keypoints.task import KeypointsTask

RES = 64


def test_a_label_reads_back_to_its_points_sub_pixel() -> None:
    points = np.array([[10.3, 20.7], [40.0, 33.5], [50.0, 8.0]])
    colours, drawn = ["red", "gray", "black"], [True, True, False]
    maps = heatmap_label(points, colours, drawn, RES, sigma=1.9)
    assert maps.shape == (len(COLOUR_NAMES), RES, RES) and maps.max() <= 1.0
    assert maps[COLOUR_NAMES.index("black")].max() == 0.0  # named, not drawn: an empty map
    read = read_heatmaps(maps, colours, sigma=1.9)
    np.testing.assert_allclose(read[:2, :2], points[:2], atol=0.05)
    assert read[0, 2] > 0.9 and read[1, 2] > 0.9
    np.testing.assert_allclose(read[2], [(RES - 1) / 2, (RES - 1) / 2, 0.0])  # not found: centre, score 0


def test_the_hook_labels_every_test_request_where_its_target_has_the_disks(task: KeypointsTask) -> None:
    decoding = task.learned_decoding()
    assert decoding.channels == len(COLOUR_NAMES)
    requests = task.test_requests()
    for request in requests[:10]:
        maps = decoding.label(request)
        read = decoding.read(maps, request)
        # the labels peak at the requested joints, where the analytic decoder finds the disks of the encoded target
        analytic = task.decode(request.target, request)
        for row, point, found, drawn in zip(read, request.meta["points"], analytic, request.meta["drawn"], strict=True):
            if drawn:
                assert np.abs(row[:2] - point).max() < 0.35 and row[2] > 0.9
                assert np.abs(row[:2] - found[:2]).max() < 1.0  # the disk's raster, clipped at the border
            else:
                assert row[2] == 0.0


def test_training_samples_peak_on_disks_of_their_colour(task: KeypointsTask) -> None:
    samples = task.learned_decoding().train_dataset()
    assert len(samples) == len(task.train_dataset())
    hits, peaks = 0, 0
    for index in range(6):
        sample = samples[index]
        assert isinstance(sample, DecoderSample) and sample.label.shape == (len(COLOUR_NAMES), RES, RES)
        for channel in np.flatnonzero(sample.label.reshape(len(COLOUR_NAMES), -1).max(1) > 0.5):
            y, x = np.unravel_index(sample.label[channel].argmax(), (RES, RES))
            peaks += 1
            hits += tuple(sample.target[y, x]) == COLOURS[COLOUR_NAMES[channel]]  # a later disk may cover it
    assert peaks >= 6 and hits >= 0.8 * peaks
