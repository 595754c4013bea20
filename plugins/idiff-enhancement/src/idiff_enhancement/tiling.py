"""Full-resolution evaluation by overlapping tiles (PAPER.md "Evaluation protocols": GoPro at 1280 x 720).

The model edits square images at its training resolution R; enhancement benchmarks are scored at the images' own
size. An image of H x W is therefore cut into R x R tiles, each tile is one test request, and the generated tiles
are blended back into an H x W image that is scored against the full-size ground truth:

- Along an axis of length L > R there are ``n = ceil((L - R) / (R - overlap)) + 1`` tiles whose starts are spread
  evenly from 0 to L - R (the last tile ends on the border; neighbours overlap by at least ``overlap`` pixels).
  An axis with L <= R has one tile; the image is first mirror-padded to R there and the padding is cut off again.
- Overlapping pixels are a weighted mean of the tiles covering them. A tile's weight ramps linearly from
  ``1 / (overlap + 1)`` at its edge to 1 at ``overlap`` pixels inside, so seams fade; every pixel has a positive
  total weight, so tiles that agree (e.g. the unchanged input) stitch back exactly.

At R = 256 and the default overlap (1/8 of R, 32 px) a 1280 x 720 GoPro frame takes 6 x 4 = 24 tiles; at R = 64 a
128 x 72 synthetic frame takes 3 x 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from idiff_enhancement.images import pad_to

__all__ = ["TileGrid", "blend_weights", "tile_starts"]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of the tiles along one axis (see the module docstring)."""
    if not 0 <= overlap < tile:
        raise ValueError(f"tile overlap must be in [0, {tile}), got {overlap}")
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def blend_weights(tile: int, overlap: int) -> np.ndarray:
    """(tile, tile) blending weights: a linear ramp over ``overlap`` pixels at each edge, 1 inside."""
    distance = np.minimum(np.arange(1, tile + 1), np.arange(tile, 0, -1)).astype(np.float64)
    ramp = np.clip(distance / (overlap + 1), 0.0, 1.0)
    return np.outer(ramp, ramp)


@dataclass(frozen=True)
class TileGrid:
    """The tiles of one H x W image at tile size R.

    Attributes:
        height: image height.
        width: image width.
        tile: tile side R (the model's resolution).
        overlap: minimum overlap of neighbouring tiles in pixels.
    """

    height: int
    width: int
    tile: int
    overlap: int

    @property
    def boxes(self) -> list[tuple[int, int]]:
        """``(y, x)`` of each tile's top-left corner, row by row."""
        ys = tile_starts(self.height, self.tile, self.overlap)
        xs = tile_starts(self.width, self.tile, self.overlap)
        return [(y, x) for y in ys for x in xs]

    def cut(self, image: np.ndarray) -> list[np.ndarray]:
        """The R x R tiles of ``image`` (H x W x 3), in :attr:`boxes` order."""
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(f"image is {image.shape[1]}x{image.shape[0]}, the grid {self.width}x{self.height}")
        padded = pad_to(image, self.tile, self.tile)
        r = self.tile
        return [np.ascontiguousarray(padded[y : y + r, x : x + r]) for y, x in self.boxes]

    def stitch(self, tiles: list[np.ndarray]) -> np.ndarray:
        """Blend R x R tiles (in :attr:`boxes` order) into one uint8 H x W x 3 image."""
        boxes = self.boxes
        if len(tiles) != len(boxes):
            raise ValueError(f"{len(tiles)} tiles for a grid of {len(boxes)}")
        r = self.tile
        size = (max(self.height, r), max(self.width, r))
        total = np.zeros((*size, 3), np.float64)
        weight = np.zeros(size, np.float64)
        ramp = blend_weights(r, self.overlap)
        for (y, x), tile in zip(boxes, tiles, strict=True):
            total[y : y + r, x : x + r] += np.asarray(tile, np.float64)[..., :3] * ramp[..., None]
            weight[y : y + r, x : x + r] += ramp
        blended = total[: self.height, : self.width] / weight[: self.height, : self.width, None]
        return np.clip(np.round(blended), 0, 255).astype(np.uint8)
