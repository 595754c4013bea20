"""Configuration of the ``keypoints`` task.

Defaults follow PAPER.md: "Encodings" -> Keypoints (1..5 joints per instruction, 9 colours, disk radius
10 px at 256 px, HRNet augmentation: scale +-0.35, rotation +-45 deg p=0.6, flip 0.5, half-body 0.3) and
"Sampling" (keypoint guidance: text 6.0, image 0.5). ``format`` and ``layout`` select the dataset's annotation
format and joints (COCO, CrowdPose, MPII, AIC, AP-10K, HumanArt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idiff.tasks.api import GuidanceScales, TaskConfig

from idiff_keypoints.catalogue import LAYOUT_NAMES
from idiff_keypoints.coco import DEFAULT_ANNOTATION_PATTERN
from idiff_keypoints.encoding import validate_keypoint_counts
from idiff_keypoints.readers import FORMAT_LAYOUTS, FORMATS

__all__ = ["KeypointsConfig"]


@dataclass
class KeypointsConfig(TaskConfig):
    """Options of the keypoints task (on top of :class:`idiff.tasks.api.TaskConfig`).

    Attributes:
        guidance: keypoints use text 6.0 / image 0.5 (PAPER.md "Sampling").
        train_split: training split name (``<data_dir>/<split>/`` holds its images).
        val_split: evaluation split name.
        annotation_pattern: annotation file relative to ``data_dir``; ``{split}`` is substituted.
        image_dir_pattern: image folder relative to ``data_dir``; ``{split}`` is substituted.
        synthetic_train_images: images of the synthetic train split.
        synthetic_val_images: images of the synthetic val split.
        synthetic_image_size: side of the synthetic images.
        synthetic_seed: seed of the synthetic data (independent of the run seed).
        min_keypoints_per_instruction: fewest joints named per training instruction.
        max_keypoints_per_instruction: most joints per instruction (<= 9 colours); also the test chunk size.
        disk_radius: disk radius at 256 px, scaled linearly with the resolution.
        augment: HRNet augmentation on training crops.
        scale_factor: crop scale jitter (+-).
        rotation_factor: rotation jitter in degrees (+-).
        rotation_prob: probability of rotating.
        flip_prob: probability of a horizontal flip (left/right joints swapped).
        half_body_prob: probability of a half-body crop.
        sigmas: OKS sigmas override; empty = the layout's (the catalogue's sigmas for a catalogue layout, 0.05
            per joint for a layout of your own).
        format: annotation format: ``coco`` (COCO, CrowdPose, AP-10K, HumanArt), ``aic`` or ``mpii`` (JSON release).
        flip_test: ask every test and predict instruction of the mirrored crop too and merge the answers (HRNet's
            ``TEST.FLIP_TEST``; twice the generations; ``max_test_requests`` counts every view).
        test_samples: generations per test and predict instruction (and per mirrored one), each from its own
            noise, merged into one point per joint (:func:`~idiff_keypoints.evaluation.merge_views`).
        layout: ``auto`` (the COCO file's own joints, a catalogue layout recognised by name) or a catalogue name:
            ``coco``, ``crowdpose``, ``mpii``, ``aic``, ``ap10k``, ``humanart``. It also picks the joints of the
            synthetic data.
    """

    guidance: GuidanceScales = field(default_factory=lambda: GuidanceScales(text=6.0, image=0.5))
    train_split: str = "train2017"
    val_split: str = "val2017"
    annotation_pattern: str = DEFAULT_ANNOTATION_PATTERN
    image_dir_pattern: str = "{split}"
    synthetic_train_images: int = 400
    synthetic_val_images: int = 24
    synthetic_image_size: int = 128
    synthetic_seed: int = 0
    min_keypoints_per_instruction: int = 1
    max_keypoints_per_instruction: int = 5
    disk_radius: float = 10.0
    augment: bool = True
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    sigmas: list[float] = field(default_factory=list)
    format: str = "coco"
    layout: str = "auto"
    flip_test: bool = False
    test_samples: int = 1

    def __post_init__(self) -> None:
        validate_keypoint_counts(self.min_keypoints_per_instruction, self.max_keypoints_per_instruction)
        if self.test_samples < 1:
            raise ValueError(f"test_samples must be >= 1 (generations per test instruction); got {self.test_samples}")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {self.format!r}")
        if self.layout not in ("auto", *LAYOUT_NAMES):
            raise ValueError(f"layout must be one of auto, {', '.join(LAYOUT_NAMES)}; got {self.layout!r}")
        own = FORMAT_LAYOUTS.get(self.format)
        if own and self.layout not in ("auto", own):
            raise ValueError(f"layout {self.layout!r} does not fit format {self.format!r}, whose files are in the "
                             f"{own!r} layout; use layout auto or {own}")
