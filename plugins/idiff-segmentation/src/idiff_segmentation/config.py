"""Configuration of the ``referring_segmentation`` and ``semantic_segmentation`` tasks.

Defaults follow PAPER.md: "Encodings" -> Segmentation (transparency 0.5, 8 colours, one class per semantic
sample, an absent class named with probability 0.2) and "Sampling" (segmentation guidance: text 7.5, image 1.5).
Every field is a ``task.<field>=`` override; ``__post_init__`` rejects bad values naming the field and what is
allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idiff.tasks.api import GuidanceScales, TaskConfig

from idiff_segmentation.encoding import COLOUR_NAMES
from idiff_segmentation.labelmaps import SEMANTIC_LAYOUTS
from idiff_segmentation.refer import DEFAULT_IMAGE_PATTERN, REFER_DATASETS

__all__ = ["ReferringConfig", "SegmentationConfig", "SemanticConfig"]

#: Accepted values of ``test_colour`` besides a colour name.
TEST_COLOUR_MODES: tuple[str, ...] = ("contrast", "random")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value}")


@dataclass
class SegmentationConfig(TaskConfig):
    """Options both segmentation tasks have (on top of :class:`idiff.tasks.api.TaskConfig`).

    Attributes:
        guidance: segmentation uses text 7.5 / image 1.5 (PAPER.md "Sampling").
        overlay_alpha: weight of the colour in the overlay (the paper's transparency 0.5).
        test_colour: colour of test requests: ``contrast`` (random among the 3 colours farthest from the target's
            pixels, so the mark is visible), ``random``, or one colour name.
        decode_threshold: fraction of ``overlay_alpha`` a pixel must move toward the colour to count as marked.
        decode_tolerance: RGB distance between source and colour at which a pixel's vote has half weight.
        decode_radius: decoder vote window radius in pixels at 64 px.
        decode_grid: 0 reads every pixel (the analytic decoder, :func:`~idiff_segmentation.decoding.decode_mask`);
            ``N`` reads the mask on an N x N grid and only undecided cells pixel by pixel
            (:func:`~idiff_segmentation.grid_decoding.decode_mask_grid`: 35-50x faster at 256 px, close but not
            the same masks; BENCHMARKS.md "Decoders"). Images under 2N px are read pixel by pixel either way.
        write_masks: write each predicted mask as a PNG under ``<run dir>/masks/``.
        synthetic_train_images: images of the synthetic train split.
        synthetic_val_images: images of the synthetic val split.
        synthetic_image_size: side of the synthetic images.
        synthetic_seed: seed of the synthetic data (independent of the run seed).
    """

    guidance: GuidanceScales = field(default_factory=lambda: GuidanceScales(text=7.5, image=1.5))
    overlay_alpha: float = 0.5
    test_colour: str = "contrast"
    decode_threshold: float = 0.5
    decode_tolerance: float = 30.0
    decode_radius: float = 1.0
    decode_grid: int = 0
    write_masks: bool = True
    synthetic_train_images: int = 200
    synthetic_val_images: int = 24
    synthetic_image_size: int = 128
    synthetic_seed: int = 0

    def __post_init__(self) -> None:
        _check_range("overlay_alpha", self.overlay_alpha, 0.05, 1.0)
        _check_range("decode_threshold", self.decode_threshold, 0.05, 0.95)
        if self.test_colour not in TEST_COLOUR_MODES + COLOUR_NAMES:
            allowed = ", ".join(TEST_COLOUR_MODES + COLOUR_NAMES)
            raise ValueError(f"test_colour must be one of {allowed}; got {self.test_colour!r}")
        if self.decode_tolerance <= 0 or self.decode_radius <= 0:
            raise ValueError("decode_tolerance and decode_radius must be > 0")
        if self.decode_grid != 0 and not 4 <= self.decode_grid <= 4096:
            raise ValueError(f"decode_grid must be 0 (every pixel) or a grid size in [4, 4096]; got {self.decode_grid}")
        if self.synthetic_train_images < 1 or self.synthetic_val_images < 1 or self.synthetic_image_size < 16:
            raise ValueError("synthetic_train_images and synthetic_val_images must be >= 1, synthetic_image_size >= 16")


@dataclass
class ReferringConfig(SegmentationConfig):
    """Options of the ``referring_segmentation`` task.

    Attributes:
        dataset: ``refcoco``, ``refcoco+``, ``refcocog`` (REFER layout, ``refs(<split_by>).p``) or ``grefcoco``
            (``grefs(<split_by>).json``).
        split_by: REFER's splitBy: ``unc``, ``google`` or ``umd``; ``""`` = the dataset's usual one (umd for
            refcocog, unc otherwise).
        train_split: training split name of the refs file.
        val_split: evaluation split (``val``, ``testA``, ``testB``, ``test`` depending on the dataset).
        image_pattern: image path relative to ``data_dir``; ``{image_id}`` and ``{file_name}`` are substituted.
    """

    dataset: str = "refcoco"
    split_by: str = ""
    train_split: str = "train"
    val_split: str = "val"
    image_pattern: str = DEFAULT_IMAGE_PATTERN

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dataset not in REFER_DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(REFER_DATASETS)}; got {self.dataset!r}")
        if self.split_by and self.split_by not in REFER_DATASETS[self.dataset]:
            allowed = ", ".join(REFER_DATASETS[self.dataset])
            raise ValueError(f"split_by of {self.dataset} must be one of {allowed} (or empty); got {self.split_by!r}")
        try:
            self.image_pattern.format(image_id=1, file_name="x.jpg")
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                f"image_pattern {self.image_pattern!r} may only use {{image_id}} and {{file_name}} ({err})"
            ) from None


@dataclass
class SemanticConfig(SegmentationConfig):
    """Options of the ``semantic_segmentation`` task.

    Attributes:
        dataset: ``cocostuff`` (label PNGs + ``labels.txt``) or ``ade20k`` (``ADEChallengeData2016``).
        train_split: training split; ``""`` = the layout's (``train2017`` / ``training``).
        val_split: evaluation split; ``""`` = the layout's (``val2017`` / ``validation``).
        image_dir_pattern: image folder relative to ``data_dir`` (``{split}`` substituted); ``""`` = the layout's.
        label_dir_pattern: label-map folder likewise.
        labels_file: COCO-Stuff's ``<id>: <name>`` class list relative to ``data_dir``.
        absent_class_prob: probability that a training sample names a class absent from the image (target =
            the unchanged image), PAPER.md: 0.2.
    """

    dataset: str = "cocostuff"
    train_split: str = ""
    val_split: str = ""
    image_dir_pattern: str = ""
    label_dir_pattern: str = ""
    labels_file: str = "labels.txt"
    absent_class_prob: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dataset not in SEMANTIC_LAYOUTS:
            raise ValueError(f"dataset must be one of {', '.join(SEMANTIC_LAYOUTS)}; got {self.dataset!r}")
        _check_range("absent_class_prob", self.absent_class_prob, 0.0, 1.0)

    @property
    def train_split_name(self) -> str:
        """``train_split``, or the layout's training split when empty."""
        return self.train_split or SEMANTIC_LAYOUTS[self.dataset].train_split

    @property
    def val_split_name(self) -> str:
        """``val_split``, or the layout's evaluation split when empty."""
        return self.val_split or SEMANTIC_LAYOUTS[self.dataset].val_split
