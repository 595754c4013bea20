"""The keypoint encoder: "circle the joint with a colour" (PAPER.md "Encodings" -> Keypoints).

Public-code convention: an opaque filled disk ``(x-cx)^2 + (y-cy)^2 <= r^2 + 1`` (transparency 0.0),
radius 10 px at 256x256 (scaled linearly with the resolution here: 2.5 px at 64, at least 1.5 px).
Per instruction 1..5 joints are chosen, each with a distinct colour drawn without replacement from 9
colours. Joints with visibility ``0 < v <= 0.5`` (invisible) are named but get no disk; COCO ``v=1``
(occluded but labelled) counts as visible. Joints with ``v=0`` (unlabelled, or dropped outside the crop)
are not chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from idiff_keypoints.layouts import human_readable
from idiff_keypoints.templates import KEYPOINT_TEMPLATES, build_instruction

__all__ = [
    "COLOURS",
    "COLOUR_NAMES",
    "EncodedKeypoints",
    "colour_rgb",
    "disk_radius_for",
    "draw_disks",
    "encode_keypoints",
    "validate_keypoint_counts",
]

#: The 9 colours of the public code, in a fixed order.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "magenta": (255, 0, 255),
    "gray": (128, 128, 128),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)

#: Visibility at or below which a named joint gets no disk.
INVISIBLE_THRESHOLD = 0.5


def colour_rgb(name: str) -> tuple[int, int, int]:
    """RGB of a colour name; raises ``ValueError`` naming the known colours."""
    try:
        return COLOURS[name]
    except KeyError:
        raise ValueError(f"unknown colour {name!r}; known: {', '.join(COLOUR_NAMES)}") from None


def disk_radius_for(resolution: int, radius_at_256: float = 10.0, min_radius: float = 1.5) -> float:
    """Disk radius in pixels at ``resolution`` (linear in the resolution, at least ``min_radius``)."""
    return max(float(min_radius), float(radius_at_256) * resolution / 256.0)


def validate_keypoint_counts(min_keypoints: int, max_keypoints: int) -> None:
    """Check ``1 <= min_keypoints <= max_keypoints <= 9`` (one distinct colour per joint)."""
    if not 1 <= min_keypoints <= max_keypoints <= len(COLOURS):
        raise ValueError(
            f"keypoints per instruction must satisfy 1 <= min ({min_keypoints}) <= max ({max_keypoints}) <= "
            f"{len(COLOURS)} (there are {len(COLOURS)} distinct colours)"
        )


def draw_disks(
    image: np.ndarray, centers: np.ndarray, colours: Sequence[tuple[int, int, int]], radius: float
) -> np.ndarray:
    """Draw opaque filled disks ``(x-cx)^2+(y-cy)^2 <= r^2+1``; later disks cover earlier ones.

    Args:
        image: uint8 (H, W, 3); not modified.
        centers: (N, 2) disk centres (pixel-index coordinates).
        colours: N RGB triples.
        radius: disk radius in pixels.

    Returns:
        A new uint8 image.
    """
    out = np.array(image, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    lim = radius * radius + 1.0
    ext = int(np.ceil(np.sqrt(lim)))
    for (cx, cy), rgb in zip(np.asarray(centers, np.float64), colours, strict=True):
        x0, x1 = max(int(np.floor(cx)) - ext, 0), min(int(np.ceil(cx)) + ext + 1, w)
        y0, y1 = max(int(np.floor(cy)) - ext, 0), min(int(np.ceil(cy)) + ext + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= lim
        out[y0:y1, x0:x1][mask] = rgb
    return out


@dataclass(frozen=True)
class EncodedKeypoints:
    """Result of :func:`encode_keypoints`.

    Attributes:
        target: uint8 (H, W, 3) image with the disks.
        instruction: the text instruction.
        joints: indices of the requested joints, in instruction order.
        colours: colour names, one per requested joint.
        drawn: whether each requested joint got a disk.
    """

    target: np.ndarray
    instruction: str
    joints: tuple[int, ...]
    colours: tuple[str, ...]
    drawn: tuple[bool, ...]

    @property
    def colour_values(self) -> list[tuple[int, int, int]]:
        """RGB triples of :attr:`colours`."""
        return [COLOURS[c] for c in self.colours]


def encode_keypoints(
    image: np.ndarray,
    keypoints_xyv: np.ndarray,
    joint_names: Sequence[str],
    rng: np.random.Generator,
    min_keypoints: int = 1,
    max_keypoints: int = 5,
    radius: float | None = None,
    joints: Sequence[int] | None = None,
    colours: Sequence[str] | None = None,
    template: int | None = None,
) -> EncodedKeypoints:
    """Encode some joints of one person crop as coloured disks plus an instruction.

    Args:
        image: source crop, uint8 (H, W, 3).
        keypoints_xyv: (K, 3) joints in crop pixels; ``v=0`` unlabelled, ``0<v<=0.5`` invisible.
        joint_names: K names (``"left_wrist"`` style; rendered human-readable).
        rng: random generator for the joint, colour and template choice.
        min_keypoints: fewest joints per instruction.
        max_keypoints: most joints per instruction (<= 9).
        radius: disk radius; ``None`` = :func:`disk_radius_for` of the image height.
        joints: fixed joint indices (test time); ``None`` = random labelled joints. With no labelled
            joint, random joints are named and drawn nowhere (target = source).
        colours: fixed colour names (distinct); ``None`` = drawn without replacement.
        template: fixed template index; ``None`` = random.

    Returns:
        :class:`EncodedKeypoints`.
    """
    validate_keypoint_counts(min_keypoints, max_keypoints)
    kp = np.asarray(keypoints_xyv, np.float64)
    if kp.ndim != 2 or kp.shape[1] != 3 or len(kp) != len(joint_names):
        raise ValueError(f"keypoints must have shape ({len(joint_names)}, 3), got {kp.shape}")
    if joints is None:
        labelled = np.flatnonzero(kp[:, 2] > 0)
        pool = labelled if len(labelled) else np.arange(len(kp))
        k = int(rng.integers(min_keypoints, max_keypoints + 1))
        joints = rng.permutation(pool)[: min(k, len(pool))].tolist()
    joints = [int(j) for j in joints]
    if colours is None:
        if len(joints) > len(COLOURS):
            raise ValueError(f"{len(joints)} joints requested but only {len(COLOURS)} colours")
        colours = [COLOUR_NAMES[i] for i in rng.permutation(len(COLOURS))[: len(joints)]]
    colours = list(colours)
    if len(set(colours)) != len(colours) or len(colours) != len(joints):
        raise ValueError(f"need {len(joints)} distinct colours, got {colours}")
    rgbs = [colour_rgb(c) for c in colours]
    if template is None:
        template = int(rng.integers(len(KEYPOINT_TEMPLATES)))
    r = disk_radius_for(image.shape[0]) if radius is None else float(radius)
    drawn = [bool(kp[j, 2] > INVISIBLE_THRESHOLD) for j in joints]
    idx = [i for i, d in enumerate(drawn) if d]
    target = draw_disks(image, kp[[joints[i] for i in idx], :2].reshape(-1, 2), [rgbs[i] for i in idx], r)
    instruction = build_instruction([human_readable(joint_names[j]) for j in joints], colours, template)
    return EncodedKeypoints(target, instruction, tuple(joints), tuple(colours), tuple(drawn))
