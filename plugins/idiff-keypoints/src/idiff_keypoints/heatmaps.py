"""The keypoints task's learned decoder: one heatmap per palette colour (PAPER.md "Decoding").

The paper's U-Net post-processes the output image "to generate a multi-channel heatmap". Here the channels are the
9 colours of the encoder's palette (:data:`~idiff_keypoints.encoding.COLOUR_NAMES`, in order): the target map of a
colour is a Gaussian (sigma = 0.75 disk radius, peak 1) at each joint drawn in that colour, zero elsewhere, as in
HRNet's heatmap regression. Named joints that get no disk (invisible) leave their colour's map empty, so the decoder
learns to say "not drawn". Reading a map back (:func:`read_heatmaps`): the peak of the requested colour's map, refined
to sub-pixel by the centroid of the map above half the peak in a window of two sigmas; its height is the score, and
below ``min_score`` the joint is "not found" (the crop centre with score 0), as in the analytic decoder.

The core (``idiff.decoders``) owns the network, its training and the degradation of the encodings; this module only
says what the maps mean. No Lightning here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from idiff.tasks.api import DecoderSample, EditRequest, LearnedDecoding
from torch.utils.data import Dataset

from idiff_keypoints.dataset import KeypointsTrainDataset
from idiff_keypoints.encoding import COLOUR_NAMES

__all__ = ["KeypointHeatmaps", "heatmap_label", "read_heatmaps"]

#: Gaussian sigma of a target heatmap, in disk radii.
SIGMA_PER_RADIUS = 0.75


def heatmap_label(points: np.ndarray, colours: Sequence[str], drawn: Sequence[bool], size: int,
                  sigma: float) -> np.ndarray:
    """(9, size, size) float32 maps: a unit Gaussian at each drawn point in its colour's channel."""
    maps = np.zeros((len(COLOUR_NAMES), size, size), np.float32)
    grid = np.arange(size, dtype=np.float32)
    for (x, y), colour, is_drawn in zip(np.asarray(points, np.float32).reshape(-1, 2), colours, drawn, strict=True):
        if not is_drawn:
            continue
        bump = np.exp(-((grid[:, None] - y) ** 2 + (grid[None, :] - x) ** 2) / (2 * sigma * sigma))
        channel = COLOUR_NAMES.index(colour)
        np.maximum(maps[channel], bump, out=maps[channel])
    return maps


def read_heatmaps(maps: np.ndarray, colours: Sequence[str], sigma: float, min_score: float = 0.1) -> np.ndarray:
    """(k, 3) ``(x, y, score)`` in map pixels, one row per requested colour; not found = centre, score 0."""
    _, h, w = maps.shape
    out = np.zeros((len(colours), 3), np.float64)
    out[:, 0], out[:, 1] = (w - 1) / 2.0, (h - 1) / 2.0
    half = max(1, int(np.ceil(2 * sigma)))
    for i, colour in enumerate(colours):
        heat = maps[COLOUR_NAMES.index(colour)]
        py, px = divmod(int(heat.argmax()), w)
        peak = float(heat[py, px])
        if peak < min_score:
            continue
        y0, y1, x0, x1 = max(py - half, 0), min(py + half + 1, h), max(px - half, 0), min(px + half + 1, w)
        patch = np.clip(heat[y0:y1, x0:x1] - 0.5 * peak, 0.0, None).astype(np.float64)
        total = patch.sum()
        x = (patch.sum(0) @ np.arange(x0, x1)) / total if total > 0 else px
        y = (patch.sum(1) @ np.arange(y0, y1)) / total if total > 0 else py
        out[i] = (x, y, peak)
    return out


class _HeatmapSamples(Dataset[DecoderSample]):
    """The task's training crops and encodings, with the heatmaps of the drawn joints."""

    def __init__(self, crops: KeypointsTrainDataset, sigma: float) -> None:
        self.crops = crops
        self.sigma = sigma

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> DecoderSample:
        crop, kp, enc = self.crops.encoded(index)
        label = heatmap_label(kp[list(enc.joints), :2], enc.colours, enc.drawn, crop.shape[0], self.sigma)
        return DecoderSample(source=crop, target=enc.target, label=label)


class KeypointHeatmaps(LearnedDecoding):
    """9 colour heatmaps: what the keypoints task's learned decoder outputs and how it is read.

    Args:
        crops: makes the task's training dataset (augmented, encoded crops); called only for training.
        radius: the encoder's disk radius at the run resolution.
        min_score: heatmap peak below which a joint is "not found".
    """

    channels = len(COLOUR_NAMES)

    def __init__(self, crops: Callable[[], KeypointsTrainDataset], radius: float, min_score: float = 0.1) -> None:
        self.crops = crops
        self.sigma = SIGMA_PER_RADIUS * radius
        self.min_score = min_score

    def train_dataset(self) -> Dataset[DecoderSample]:
        return _HeatmapSamples(self.crops(), self.sigma)

    def label(self, request: EditRequest) -> np.ndarray:
        m = request.meta
        return heatmap_label(np.asarray(m["points"]), m["colours"], m["drawn"], request.source.shape[0], self.sigma)

    def read(self, maps: np.ndarray, request: EditRequest) -> Any:
        return read_heatmaps(maps, request.meta["colours"], self.sigma, self.min_score)
