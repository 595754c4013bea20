"""Configuration of the ``detection`` task.

PAPER.md "Encodings" -> Detection (a segmentation-like mark; the box from the marked region) and -> Segmentation
(transparency 0.5, 8 colours), "Sampling" (the segmentation guidance 7.5 / 1.5: the paper gives none for detection,
which it only shows qualitatively).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idiff.tasks.api import GuidanceScales, TaskConfig

from idiff_detection.instances import DEFAULT_ANNOTATION_PATTERN
from idiff_detection.marks import COLOURS

__all__ = ["DetectionConfig"]


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


@dataclass
class DetectionConfig(TaskConfig):
    """Options of the detection task (on top of :class:`idiff.tasks.api.TaskConfig`).

    Attributes:
        guidance: text 7.5 / image 1.5, the paper's segmentation scales.
        train_split: training split name (``<data_dir>/<split>/`` holds its images).
        val_split: evaluation split name.
        annotation_pattern: COCO instances file relative to ``data_dir``; ``{split}`` is substituted.
        image_dir_pattern: image folder relative to ``data_dir``; ``{split}`` is substituted.
        synthetic_train_images: images of the synthetic train split.
        synthetic_val_images: images of the synthetic val split.
        synthetic_image_size: side of the synthetic images.
        synthetic_seed: seed of the synthetic data (independent of the run seed).
        mark: ``mask`` (mark each object's pixels, box from the region: the paper's) or ``box`` (mark its box).
        overlay_alpha: weight of the colour inside the mark (0.5 in the paper).
        absent_category_prob: training: probability of naming a category the image lacks (target = source).
        test_colour: ``contrast`` (one of the 3 colours farthest from the objects), ``random``, or a colour name.
        test_categories: ``present`` (one request per category in the image) or ``all`` (every category of the
            file for every image, as a detector without that knowledge would be asked).
        decode_threshold: fraction of ``overlay_alpha`` a pixel must move toward the colour to count as marked.
        decode_min_contrast: RGB distance between source and colour below which a pixel cannot show a mark.
        min_box_area: smallest marked region kept as a box, in pixels at 64 px (scaled with the resolution's area).
    """

    guidance: GuidanceScales = field(default_factory=lambda: GuidanceScales(text=7.5, image=1.5))
    train_split: str = "train2017"
    val_split: str = "val2017"
    annotation_pattern: str = DEFAULT_ANNOTATION_PATTERN
    image_dir_pattern: str = "{split}"
    synthetic_train_images: int = 200
    synthetic_val_images: int = 16
    synthetic_image_size: int = 128
    synthetic_seed: int = 0
    mark: str = "mask"
    overlay_alpha: float = 0.5
    absent_category_prob: float = 0.2
    test_colour: str = "contrast"
    test_categories: str = "present"
    decode_threshold: float = 0.5
    decode_min_contrast: float = 30.0
    min_box_area: int = 4

    def __post_init__(self) -> None:
        _one_of("mark", self.mark, ("mask", "box"))
        _one_of("test_colour", self.test_colour, ("contrast", "random", *COLOURS))
        _one_of("test_categories", self.test_categories, ("present", "all"))
        if not 0.0 < self.overlay_alpha <= 1.0:
            raise ValueError(f"overlay_alpha must be in (0, 1], got {self.overlay_alpha}")
        if not 0.0 <= self.absent_category_prob < 1.0:
            raise ValueError(f"absent_category_prob must be in [0, 1), got {self.absent_category_prob}")
        if self.synthetic_train_images < 1 or self.synthetic_val_images < 1 or self.synthetic_image_size < 16:
            raise ValueError("synthetic_train_images and synthetic_val_images must be >= 1, synthetic_image_size >= 16")
