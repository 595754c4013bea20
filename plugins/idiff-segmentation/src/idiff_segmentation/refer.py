"""Readers for referring-expression datasets in the REFER and gRefCOCO layouts.

REFER (Yu et al., 2016; github.com/lichengunc/refer) layout, for RefCOCO, RefCOCO+ and RefCOCOg::

    <root>/<dataset>/refs(<splitBy>).p     # pickle: list of refs; splitBy unc | google | umd
    <root>/<dataset>/instances.json        # COCO: images, annotations (segmentation), categories
    <root>/images/train2014/COCO_train2014_<image_id:012d>.jpg

A ref is ``{"ref_id", "ann_id", "image_id", "split", "category_id", "sent_ids", "sentences": [{"sent_id", "sent",
"raw", "tokens"}], "file_name"}``; ``split`` is train / val / testA / testB (unc), train / val (google), train /
val / test (umd). gRefCOCO (Liu et al., 2023; github.com/henghuiding/gRefCOCO) keeps the layout with
``<root>/grefcoco/grefs(unc).json`` (JSON, not pickle) whose ``ann_id`` is a *list*: several targets, or
``[-1]`` (also flagged ``"no_target": true``) for an expression that matches nothing; its mask is empty.

The pickle is read with :func:`idiff_segmentation.safepickle.load_plain_pickle`, which executes nothing. Masks
come from ``instances.json`` through pycocotools; a ref's mask is the union of its non-crowd annotations (as
gRefCOCO's ``getMaskByRef(merge=True)``). One :class:`ReferringExpression` is one sentence: the unit of the
benchmarks' cIoU and mean IoU.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from idiff.tasks.api import DataError, ErrorPolicy, dataset_file, read_rgb

from idiff_segmentation.masks import segmentation_mask
from idiff_segmentation.safepickle import load_plain_pickle

__all__ = [
    "DEFAULT_IMAGE_PATTERN",
    "DEFAULT_SPLIT_BY",
    "REFER_DATASETS",
    "ReferError",
    "ReferImage",
    "ReferringDataset",
    "ReferringExpression",
    "load_referring",
    "refs_path",
    "resolve_split_by",
]

#: Datasets and the splitBy values their releases have.
REFER_DATASETS: dict[str, tuple[str, ...]] = {
    "refcoco": ("unc", "google"),
    "refcoco+": ("unc",),
    "refcocog": ("umd", "google"),
    "grefcoco": ("unc",),
}
#: The usual splitBy of each dataset.
DEFAULT_SPLIT_BY: dict[str, str] = {"refcoco": "unc", "refcoco+": "unc", "refcocog": "umd", "grefcoco": "unc"}
#: Image path relative to the root; ``{image_id}`` and ``{file_name}`` (from instances.json) are substituted.
DEFAULT_IMAGE_PATTERN = "images/train2014/COCO_train2014_{image_id:012d}.jpg"


class ReferError(DataError, ValueError):
    """A REFER / gRefCOCO file is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class ReferringExpression:
    """One sentence referring to zero, one or several objects of one image.

    Attributes:
        ref_id: the ref's id (one ref has one or more sentences).
        sent_id: the sentence id.
        sentence: the expression, e.g. "the red circle on the left".
        image_id: COCO image id.
        ann_ids: annotation ids of the targets; empty for a gRefCOCO no-target expression.
        split: the ref's split name.
    """

    ref_id: int
    sent_id: int
    sentence: str
    image_id: int
    ann_ids: tuple[int, ...]
    split: str

    @property
    def no_target(self) -> bool:
        """Whether the expression matches nothing (empty mask)."""
        return not self.ann_ids


@dataclass(frozen=True)
class ReferImage:
    """An image of ``instances.json``: its id, file, and size."""

    image_id: int
    path: Path
    width: int
    height: int


@dataclass
class ReferringDataset:
    """The expressions of some splits plus what is needed to draw their masks.

    Attributes:
        dataset: ``refcoco``, ``refcoco+``, ``refcocog`` or ``grefcoco``.
        split_by: the splitBy of the refs file.
        refs_file: the refs file read.
        instances_file: the ``instances.json`` read.
        expressions: one entry per sentence, in file order.
        images: the images the expressions refer to, by id.
        annotations: the annotations the expressions refer to, by id.
    """

    dataset: str
    split_by: str
    refs_file: Path
    instances_file: Path
    expressions: list[ReferringExpression]
    images: dict[int, ReferImage]
    annotations: dict[int, dict[str, Any]]

    def mask(self, expression: ReferringExpression) -> np.ndarray:
        """Boolean (H, W) mask of the expression at the image's size: the union of its non-crowd targets."""
        image = self.images[expression.image_id]
        out = np.zeros((image.height, image.width), dtype=bool)
        for ann_id in expression.ann_ids:
            ann = self.annotations[ann_id]
            if ann.get("iscrowd", 0):
                continue
            try:
                out |= segmentation_mask(ann["segmentation"], image.height, image.width)
            except ValueError as err:
                raise ReferError(f"{self.instances_file}: annotation {ann_id}: {err}") from None
        return out

    def load_image(self, image_id: int) -> np.ndarray:
        """The image as uint8 (H, W, 3), checked against its ``width`` / ``height`` in ``instances.json``."""
        image = self.images[image_id]
        return read_rgb(image.path, expected_size=(image.width, image.height))

    def by_ref(self) -> dict[int, list[ReferringExpression]]:
        """Expressions grouped by ref id, in file order."""
        refs: dict[int, list[ReferringExpression]] = {}
        for expression in self.expressions:
            refs.setdefault(expression.ref_id, []).append(expression)
        return refs


def resolve_split_by(dataset: str, split_by: str = "") -> str:
    """The splitBy to use (``""`` = the dataset's usual one); raises naming the allowed values."""
    if dataset not in REFER_DATASETS:
        raise ReferError(f"unknown referring dataset {dataset!r}; known: {', '.join(REFER_DATASETS)}")
    chosen = split_by or DEFAULT_SPLIT_BY[dataset]
    if chosen not in REFER_DATASETS[dataset]:
        raise ReferError(f"{dataset} has no splitBy {chosen!r}; it has: {', '.join(REFER_DATASETS[dataset])}")
    return chosen


def refs_path(root: Path | str, dataset: str, split_by: str = "") -> Path:
    """``<root>/<dataset>/refs(<splitBy>).p``, or ``grefs(<splitBy>).json`` for gRefCOCO."""
    split_by = resolve_split_by(dataset, split_by)
    name = f"grefs({split_by}).json" if dataset == "grefcoco" else f"refs({split_by}).p"
    return Path(root) / dataset / name


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise ReferError(f"{path}: {what} not found")
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as err:
        raise ReferError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    except (UnicodeDecodeError, RecursionError) as err:
        raise ReferError(f"{path}: not valid JSON ({type(err).__name__})") from None


def _read_refs(path: Path) -> list[Any]:
    if path.suffix == ".json":
        refs = _read_json(path, "refs file")
    elif not path.is_file():
        raise ReferError(f"{path}: refs file not found")
    else:
        refs = load_plain_pickle(path)
    if not isinstance(refs, list):
        raise ReferError(f"{path}: top level is a {type(refs).__name__}, expected a list of refs")
    return refs


def _integer(path: Path, where: str, key: str, value: Any, minimum: int | None = 0) -> int:
    if type(value) is not int or (minimum is not None and value < minimum):
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise ReferError(f"{path}: {where} '{key}' is {value!r}, expected {expected}")
    return value


def _target_ids(path: Path, ref: dict[str, Any]) -> tuple[int, ...]:
    ann = ref["ann_id"]
    where = f"ref {ref['ref_id']}"
    ids = [_integer(path, where, "ann_id", a, -1) for a in ann] if isinstance(ann, list) else [
        _integer(path, where, "ann_id", ann, -1)]
    if ref.get("no_target") or ids == [-1]:
        return ()
    if not ids or any(i < 0 for i in ids):
        raise ReferError(f"{path}: {where} 'ann_id' {ids} mixes -1 (no target) with targets, or is empty")
    return tuple(ids)


def _ref_expressions(path: Path, index: int, ref: Any, splits: Sequence[str] | None) -> list[ReferringExpression]:
    """The sentences of one ref (none when its split is not wanted); a malformed ref raises naming the field."""
    if not isinstance(ref, dict):
        raise ReferError(f"{path}: ref #{index} is a {type(ref).__name__}, expected a dict")
    for key in ("ref_id", "image_id", "ann_id", "split", "sentences"):
        if key not in ref:
            raise ReferError(f"{path}: ref {ref.get('ref_id', f'#{index}')!r} is missing '{key}'")
    ref_id = _integer(path, f"ref #{index}", "ref_id", ref["ref_id"])
    image_id = _integer(path, f"ref {ref_id}", "image_id", ref["image_id"])
    if splits is not None and ref["split"] not in splits:
        return []
    targets = _target_ids(path, ref)
    if not isinstance(ref["sentences"], list) or not ref["sentences"]:
        raise ReferError(f"{path}: ref {ref_id} 'sentences' is not a non-empty list")
    out = []
    for j, sent in enumerate(ref["sentences"]):
        text = (sent.get("sent") or sent.get("raw")) if isinstance(sent, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ReferError(f"{path}: ref {ref_id} sentence #{j} has no 'sent' or 'raw' text")
        sent_id = sent.get("sent_id", ref_id * 1000 + j)
        sent_id = _integer(path, f"ref {ref_id} sentence #{j}", "sent_id", sent_id)
        out.append(ReferringExpression(ref_id, sent_id, text.strip(), image_id, targets, str(ref["split"])))
    return out


def _image_entry(inst_path: Path, root: Path, img: dict[str, Any], image_pattern: str) -> ReferImage:
    where = f"image {img['id']}"
    for key in ("width", "height"):
        if type(img.get(key)) is not int or img[key] < 1:
            raise ReferError(f"{inst_path}: {where} '{key}' is {img.get(key)!r}, expected an integer >= 1")
    file_name = img.get("file_name", "")
    if not isinstance(file_name, str):
        raise ReferError(f"{inst_path}: {where} 'file_name' is {file_name!r}, expected a string")
    path = dataset_file(root, image_pattern.format(image_id=img["id"], file_name=file_name),
                        f"{inst_path}: {where} 'file_name'")
    return ReferImage(img["id"], path, img["width"], img["height"])


def _check_targets(inst_path: Path, e: ReferringExpression, images: dict[int, ReferImage],
                   annotations: dict[int, dict[str, Any]]) -> None:
    if e.image_id not in images:
        raise ReferError(f"{inst_path}: ref {e.ref_id} refers to image_id {e.image_id}, not in 'images'")
    missing = [a for a in e.ann_ids if a not in annotations]
    if missing:
        raise ReferError(f"{inst_path}: ref {e.ref_id} refers to ann_id {missing[0]}, not in 'annotations'")
    for a in e.ann_ids:
        if "segmentation" not in annotations[a]:
            raise ReferError(f"{inst_path}: annotation {a} of ref {e.ref_id} is missing 'segmentation'")
        if annotations[a].get("image_id", e.image_id) != e.image_id:
            raise ReferError(f"{inst_path}: annotation {a} of ref {e.ref_id} belongs to another image")


def load_referring(
    root: Path | str,
    dataset: str = "refcoco",
    split_by: str = "",
    splits: Sequence[str] | None = None,
    image_pattern: str = DEFAULT_IMAGE_PATTERN,
    errors: ErrorPolicy | None = None,
) -> ReferringDataset:
    """Read the expressions of ``splits`` (``None``: all) of a REFER / gRefCOCO dataset under ``root``.

    A malformed ref (missing or misspelt key, no sentence, unknown image or annotation, annotation without
    ``segmentation``) or image entry (bad size, ``file_name`` outside ``root``) raises, or under ``errors`` with
    ``on_error=skip`` is skipped and counted with its sentences.

    Raises:
        ReferError: missing or unreadable file, missing top-level key, bad dataset / splitBy, a bad record (under
            ``raise``), or no expression left.
        UnsafePickleError: the refs pickle holds anything but plain containers, strings and numbers.
    """
    errors = errors or ErrorPolicy()
    root = Path(root)
    path = refs_path(root, dataset, split_by)
    refs = _read_refs(path)
    expressions: list[ReferringExpression] = []
    for index, ref in enumerate(refs):
        with errors.guard():
            expressions.extend(_ref_expressions(path, index, ref, splits))
    if splits is not None and not expressions and not errors.skipped:
        found = sorted({str(r["split"]) for r in refs if isinstance(r, dict) and "split" in r})
        raise ReferError(f"{path}: no refs in split {', '.join(splits)}; the file has: {', '.join(found) or 'none'}")
    inst_path = path.parent / "instances.json"
    instances = _read_json(inst_path, "instances file")
    if not isinstance(instances, dict):
        raise ReferError(f"{inst_path}: top level is not a JSON object")
    for key in ("images", "annotations"):
        if not isinstance(instances.get(key), list):
            raise ReferError(f"{inst_path}: top-level key '{key}' is missing or not a list")
    wanted_images = {e.image_id for e in expressions}
    wanted_anns = {a for e in expressions for a in e.ann_ids}
    images: dict[int, ReferImage] = {}
    for img in instances["images"]:
        if isinstance(img, dict) and type(img.get("id")) is int and img["id"] in wanted_images:
            with errors.guard():
                images[img["id"]] = _image_entry(inst_path, root, img, image_pattern)
    annotations = {
        a["id"]: a for a in instances["annotations"]
        if isinstance(a, dict) and type(a.get("id")) is int and a["id"] in wanted_anns
    }
    kept = []
    for e in expressions:
        with errors.guard():
            _check_targets(inst_path, e, images, annotations)
            kept.append(e)
    errors.require(len(kept), f"{path}: referring expressions of split {', '.join(splits or ['(all)'])}")
    return ReferringDataset(dataset, resolve_split_by(dataset, split_by), path, inst_path, kept, images, annotations)
