"""Named keypoint layouts of the datasets InstructDiffusion trains and tests on, with their OKS sigmas.

PAPER.md "Encodings" -> Keypoints trains on COCO (17 joints), CrowdPose (14), MPII (16) and AIC (14);
"Evaluation protocols" tests on COCO, HumanArt and AP-10K. Joint orders are those of each release's annotation
files; skeletons and sigmas are the published ones:

- ``coco``, ``humanart``: the COCO-17 person layout and COCO's sigmas (HumanArt is annotated in that layout).
- ``crowdpose``: 12 COCO body joints plus ``head`` (top of the head) and ``neck``; sigmas of CrowdPose's own
  evaluation code (crowdposetools: COCO's body sigmas, 0.079 for head and neck).
- ``mpii``: mmpose's names for MPII's 16 joints. MPII's own metric is PCKh, which needs the head boxes of the
  MATLAB release; OKS AP here uses the sigmas mmpose publishes for MPII ("adapted from COCO", copied verbatim,
  including 0.179 for the shoulders), so MPII AP numbers are idiff's OKS AP, not PCKh.
- ``aic``: AI Challenger's 14 joints; sigmas from its evaluation code (``keypoint_eval.py`` uses
  ``delta = 2 * sigma``, the same falloff as COCOeval's ``(2 * sigma)^2``).
- ``ap10k``: the 17 animal joints of AP-10K and its sigmas (mmpose ``ap10k.py``).

``layout=auto`` takes the joints from the annotation file and recognises these layouts by their names. A file in a
catalogue layout gets the catalogue's skeleton (used for drawing only), not its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from idiff_keypoints.layouts import (
    COCO_KEYPOINT_NAMES,
    COCO_SIGMAS,
    COCO_SKELETON,
    KeypointLayout,
    LayoutError,
    normalise_joint_name,
)

__all__ = ["LAYOUT_NAMES", "match_layout", "named_layout", "resolve_layout"]

_COCO = (COCO_KEYPOINT_NAMES, tuple((a - 1, b - 1) for a, b in COCO_SKELETON), COCO_SIGMAS)

_CROWDPOSE = (
    ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
     "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck"),
    ((10, 8), (8, 6), (11, 9), (9, 7), (6, 7), (0, 6), (1, 7), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (12, 13),
     (1, 13), (0, 13)),
    (0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079),
)

_MPII = (
    ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "thorax",
     "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
     "left_wrist"),
    ((0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9), (8, 12), (12, 11), (11, 10), (8, 13),
     (13, 14), (14, 15)),
    (0.089, 0.083, 0.107, 0.107, 0.083, 0.089, 0.026, 0.026, 0.026, 0.026, 0.062, 0.072, 0.179, 0.179, 0.072,
     0.062),
)

_AIC = (
    ("right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist", "right_hip",
     "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "head_top", "neck"),
    ((2, 1), (1, 0), (0, 13), (13, 3), (3, 4), (4, 5), (8, 7), (7, 6), (6, 9), (9, 10), (10, 11), (12, 13), (0, 6),
     (3, 9)),
    (0.01388152, 0.01515228, 0.01057665, 0.01417709, 0.01497891, 0.01402144, 0.03909642, 0.03686941, 0.01981803,
     0.03843971, 0.03412318, 0.02415081, 0.01291456, 0.01236173),
)

_AP10K = (
    ("left_eye", "right_eye", "nose", "neck", "root_of_tail", "left_shoulder", "left_elbow", "left_front_paw",
     "right_shoulder", "right_elbow", "right_front_paw", "left_hip", "left_knee", "left_back_paw", "right_hip",
     "right_knee", "right_back_paw"),
    ((0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (3, 5), (5, 6), (6, 7), (3, 8), (8, 9), (9, 10), (4, 11), (11, 12),
     (12, 13), (4, 14), (14, 15), (15, 16)),
    (0.025, 0.025, 0.026, 0.035, 0.035, 0.079, 0.072, 0.062, 0.079, 0.072, 0.062, 0.107, 0.087, 0.089, 0.107,
     0.087, 0.089),
)

_LAYOUTS: dict[str, tuple[tuple[str, ...], tuple[tuple[int, int], ...], tuple[float, ...]]] = {
    "coco": _COCO,
    "crowdpose": _CROWDPOSE,
    "mpii": _MPII,
    "aic": _AIC,
    "ap10k": _AP10K,
    "humanart": _COCO,
}

#: The names ``layout=`` accepts besides ``auto``.
LAYOUT_NAMES: tuple[str, ...] = tuple(_LAYOUTS)


def named_layout(name: str) -> KeypointLayout:
    """The layout called ``name`` (one of :data:`LAYOUT_NAMES`); ``ValueError`` lists the known names."""
    if name not in _LAYOUTS:
        raise ValueError(f"unknown keypoint layout {name!r}; known: {', '.join(LAYOUT_NAMES)}")
    names, skeleton, sigmas = _LAYOUTS[name]
    return KeypointLayout(names=names, skeleton=skeleton, sigmas=sigmas)


def match_layout(names: Sequence[str]) -> str | None:
    """The name of the catalogue layout with these joints in this order (spellings normalised), or ``None``."""
    wanted = [normalise_joint_name(n) for n in names]
    for key, (known, _, _) in _LAYOUTS.items():
        if [normalise_joint_name(n) for n in known] == wanted:
            return key
    return None


def resolve_layout(
    category: Mapping[str, Any], layout: str = "auto", sigmas: Sequence[float] | None = None, source: str = "<file>"
) -> KeypointLayout:
    """The layout of a COCO keypoint category, by name or recognised from its joint names.

    Args:
        category: COCO category with ``keypoints`` (joint names) and optional ``skeleton``.
        layout: a name of :data:`LAYOUT_NAMES`, whose joints must be the category's (in its order), or ``"auto"``:
            a catalogue layout when the names match one, else the category's own names and skeleton.
        sigmas: OKS sigmas that replace the layout's (empty or ``None``: keep them).
        source: file name for error messages.

    Raises:
        LayoutError: the category's joints do not fit the named layout, or the category is malformed.
    """
    if "keypoints" not in category or not category["keypoints"]:
        raise LayoutError(f"{source}: category {category.get('id', '?')} has no 'keypoints' list")
    names = [str(n) for n in category["keypoints"]]
    key = match_layout(names) if layout == "auto" else layout
    if key is None:
        return KeypointLayout.from_category(category, sigmas=sigmas, source=source)
    chosen = named_layout(key)
    if [normalise_joint_name(n) for n in names] != [normalise_joint_name(n) for n in chosen.names]:
        first = next((i for i, (a, b) in enumerate(zip(names, chosen.names, strict=False)) if a != b), None)
        detail = f"joint {first} is {names[first]!r}, layout has {chosen.names[first]!r}" if first is not None else ""
        raise LayoutError(
            f"{source}: category {category.get('id', '?')} has {len(names)} keypoints that are not layout "
            f"{key!r} ({chosen.num_joints} joints{'; ' + detail if detail else ''}); "
            "set task.layout=auto (and task.sigmas) for a layout of your own"
        )
    if sigmas:
        if len(sigmas) != chosen.num_joints:
            raise LayoutError(f"{source}: {len(sigmas)} sigmas configured for {chosen.num_joints} keypoints")
        return KeypointLayout(names=chosen.names, skeleton=chosen.skeleton, sigmas=tuple(float(s) for s in sigmas))
    return chosen
