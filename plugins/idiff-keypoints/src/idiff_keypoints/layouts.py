"""Keypoint layouts: joint names, skeleton, left/right flip pairs and OKS sigmas.

Field conventions follow the COCO keypoint format (Lin et al., 2014; cocodataset.org/#format-data):
a category carries ``keypoints`` (joint names) and ``skeleton`` (1-based joint index pairs). The flip pairs are
derived from the names (``left_X`` <-> ``right_X``, after spelling out abbreviations such as MPII's ``r_`` / ``l_``),
as HRNet / mmpose do for horizontal-flip augmentation (PAPER.md "Encodings" -> Keypoints). OKS sigmas are the
per-joint falloff constants of the COCO keypoint metric (PAPER.md "Evaluation protocols": OKS AP). The layouts of
other datasets (CrowdPose, MPII, AIC, AP-10K, HumanArt) are in :mod:`idiff_keypoints.catalogue`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from idiff.tasks.api import DataError

__all__ = [
    "COCO_KEYPOINT_NAMES",
    "COCO_SIGMAS",
    "COCO_SKELETON",
    "DEFAULT_UNKNOWN_SIGMA",
    "KeypointLayout",
    "LayoutError",
    "coco_person_layout",
    "flip_pairs_from_names",
    "human_readable",
    "normalise_joint_name",
]

#: The 17 COCO person keypoints, in annotation order.
COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

#: COCO person skeleton, 1-based joint indices as in ``person_keypoints_*.json``.
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (16, 14),
    (14, 12),
    (17, 15),
    (15, 13),
    (12, 13),
    (6, 12),
    (7, 13),
    (6, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (9, 11),
    (2, 3),
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
    (5, 7),
)

#: Standard COCO OKS sigmas (pycocotools ``Params.kpt_oks_sigmas``).
COCO_SIGMAS: tuple[float, ...] = tuple(
    s / 10.0
    for s in (0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89)
)

#: Sigma used for every joint of a layout that is not the COCO-17 person layout and has no configured
#: sigmas. 0.05 is a middle value of the COCO sigmas (0.025 for eyes .. 0.107 for hips); OKS AP numbers
#: computed with it are NOT comparable to published numbers for that dataset - configure real sigmas.
DEFAULT_UNKNOWN_SIGMA: float = 0.05

#: Words of lower-body joint names (normalised), the rest is upper body: HRNet / mmpose half-body sets.
_LOWER_BODY_WORDS: tuple[str, ...] = ("hip", "knee", "ankle", "foot", "heel", "toe", "pelvis", "tail", "back_paw")


class LayoutError(DataError, ValueError):
    """A keypoint category is malformed (missing ``keypoints``, bad skeleton, wrong sigma count)."""


#: Abbreviations in joint names, spelled out: MPII's ``r_ankle``, AP-10K's ``L_F_Paw`` (left front paw).
_NAME_TOKENS: dict[str, str] = {"l": "left", "r": "right", "f": "front", "b": "back"}


def normalise_joint_name(name: str) -> str:
    """A joint name in one spelling: lower case, ``_``-separated, abbreviations spelled out.

    ``"r ankle"``, ``"R_Ankle"`` and ``"right_ankle"`` all give ``"right_ankle"``; ``"L_F_Paw"`` gives
    ``"left_front_paw"``; ``"Root of tail"`` gives ``"root_of_tail"``.
    """
    tokens = re.split(r"[\s_\-]+", name.strip().lower())
    return "_".join(_NAME_TOKENS.get(t, t) for t in tokens if t)


def human_readable(name: str) -> str:
    """A joint name as instructions say it: ``"left_wrist"`` -> ``"left wrist"``, ``"r_ankle"`` -> ``"right ankle"``."""
    return normalise_joint_name(name).replace("_", " ")


def flip_pairs_from_names(names: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs of joint indices swapped by a horizontal flip, found from ``left``/``right`` in the names.

    Names are compared after :func:`normalise_joint_name`, so ``left_wrist`` / ``right wrist`` (COCO) and
    ``l_ankle`` / ``r_ankle`` (MPII's own spelling) pair up alike.

    Args:
        names: joint names in annotation order.

    Returns:
        ``(i, j)`` pairs with ``i < j``; joints without a mirrored partner (e.g. ``nose``) are absent.
    """
    normal = [normalise_joint_name(n).split("_") for n in names]
    index = {"_".join(tokens): i for i, tokens in enumerate(normal)}
    pairs: list[tuple[int, int]] = []
    for i, tokens in enumerate(normal):
        if "left" not in tokens:
            continue
        j = index.get("_".join("right" if t == "left" else t for t in tokens))
        if j is not None and j != i:
            pairs.append((min(i, j), max(i, j)))
    return sorted(set(pairs))


@dataclass(frozen=True)
class KeypointLayout:
    """A keypoint layout (one COCO category).

    Attributes:
        names: joint names in annotation order (K of them).
        skeleton: 0-based joint index pairs (limbs), used for drawing only.
        sigmas: OKS sigma per joint, shape (K,).
        flip_pairs: left/right joint index pairs, derived from ``names``.
    """

    names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...] = ()
    sigmas: tuple[float, ...] = ()
    flip_pairs: tuple[tuple[int, int], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.names:
            raise LayoutError("keypoint layout has no joint names")
        if not self.sigmas:
            object.__setattr__(self, "sigmas", _default_sigmas(self.names))
        if len(self.sigmas) != len(self.names):
            raise LayoutError(f"layout has {len(self.names)} joints but {len(self.sigmas)} OKS sigmas")
        if not self.flip_pairs:
            object.__setattr__(self, "flip_pairs", tuple(flip_pairs_from_names(self.names)))
        for a, b in self.skeleton:
            if not (0 <= a < len(self.names) and 0 <= b < len(self.names)):
                raise LayoutError(f"skeleton pair ({a}, {b}) out of range for {len(self.names)} joints (0-based)")

    @property
    def num_joints(self) -> int:
        """Number of joints K."""
        return len(self.names)

    @property
    def sigma_array(self) -> np.ndarray:
        """OKS sigmas as a float64 array of shape (K,)."""
        return np.asarray(self.sigmas, dtype=np.float64)

    def flip_permutation(self) -> np.ndarray:
        """Index array ``perm`` such that ``flipped_kpts = kpts[perm]`` after mirroring x."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def readable(self, index: int) -> str:
        """Human-readable name of joint ``index`` (for instructions)."""
        return human_readable(self.names[index])

    def upper_body(self) -> np.ndarray:
        """Indices of upper-body joints (head, neck, shoulders, arms, front paws) for half-body augmentation."""
        normal = [normalise_joint_name(n) for n in self.names]
        return np.array([i for i, n in enumerate(normal) if not any(w in n for w in _LOWER_BODY_WORDS)], dtype=int)

    def lower_body(self) -> np.ndarray:
        """Indices of lower-body joints (pelvis, hips, knees, ankles, back paws, tail) for half-body augmentation."""
        upper = set(self.upper_body().tolist())
        return np.array([i for i in range(self.num_joints) if i not in upper], dtype=int)

    @classmethod
    def from_category(
        cls,
        category: Mapping[str, Any],
        sigmas: Sequence[float] | None = None,
        source: str = "<category>",
    ) -> KeypointLayout:
        """Build a layout from a COCO category dict (``keypoints`` + ``skeleton``).

        Args:
            category: COCO category with ``keypoints`` (list of names) and optional ``skeleton`` (1-based).
            sigmas: explicit OKS sigmas; ``None``/empty picks COCO sigmas for the COCO-17 person layout and
                :data:`DEFAULT_UNKNOWN_SIGMA` for every joint otherwise.
            source: file name used in error messages.

        Raises:
            LayoutError: ``keypoints`` missing or empty, skeleton malformed, wrong number of sigmas.
        """
        keypoints = category.get("keypoints")
        if not isinstance(keypoints, list) or not keypoints or not all(isinstance(n, str) for n in keypoints):
            raise LayoutError(f"{source}: category {category.get('id', '?')} 'keypoints' is not a list of joint names")
        names = tuple(keypoints)
        skeleton: list[tuple[int, int]] = []
        pairs = category.get("skeleton", []) or []
        if not isinstance(pairs, list):
            raise LayoutError(f"{source}: category 'skeleton' is a {type(pairs).__name__}, expected a list of pairs")
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and all(type(v) is int for v in pair)):
                raise LayoutError(f"{source}: category 'skeleton' entry {pair!r} is not a pair of joint numbers")
            a, b = pair[0] - 1, pair[1] - 1
            if not (0 <= a < len(names) and 0 <= b < len(names)):
                raise LayoutError(f"{source}: 'skeleton' pair {list(pair)} out of range 1..{len(names)}")
            skeleton.append((a, b))
        sig = tuple(float(s) for s in sigmas) if sigmas else ()
        if sig and len(sig) != len(names):
            raise LayoutError(f"{source}: {len(sig)} sigmas configured for {len(names)} keypoints")
        return cls(names=names, skeleton=tuple(skeleton), sigmas=sig)

    def to_category(self, category_id: int = 1, name: str = "person") -> dict[str, Any]:
        """The COCO category dict for this layout (1-based skeleton)."""
        return {
            "id": category_id,
            "name": name,
            "supercategory": name,
            "keypoints": list(self.names),
            "skeleton": [[a + 1, b + 1] for a, b in self.skeleton],
        }


def _default_sigmas(names: Sequence[str]) -> tuple[float, ...]:
    if tuple(names) == COCO_KEYPOINT_NAMES:
        return COCO_SIGMAS
    return tuple(DEFAULT_UNKNOWN_SIGMA for _ in names)


def coco_person_layout() -> KeypointLayout:
    """The COCO-17 person layout with the standard COCO skeleton and sigmas."""
    return KeypointLayout(
        names=COCO_KEYPOINT_NAMES,
        skeleton=tuple((a - 1, b - 1) for a, b in COCO_SKELETON),
        sigmas=COCO_SIGMAS,
    )
