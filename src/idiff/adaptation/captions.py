"""Captions for pretraining adaptation: a COCO captions file, or templates for images that have none.

COCO captions format (``annotations/captions_train2017.json``)::

    {"images": [{"id": 9, "file_name": "000000000009.jpg", ...}, ...],
     "annotations": [{"image_id": 9, "caption": "A plate of food ...", ...}, ...]}

Every image has about five captions; one is chosen at random per draw.
"""

from __future__ import annotations

import json
from pathlib import Path

from idiff.errors import DataError

__all__ = ["CAPTION_TEMPLATES", "read_coco_captions"]

#: Captions for images without one (task datasets, a bare folder): neutral, so the suffix carries the content.
CAPTION_TEMPLATES: tuple[str, ...] = (
    "a photo",
    "a picture",
    "an image",
    "a photograph",
    "a photo of a scene",
    "a picture of a scene",
    "a snapshot",
    "a close-up photo",
)


def read_coco_captions(path: str | Path) -> dict[str, list[str]]:
    """``file_name -> captions`` from a COCO captions JSON; images without a caption map to an empty list.

    Raises:
        DataError: unreadable JSON, or a record without the fields named above (the message names file and field).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: captions file not found (stage.captions)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DataError(f"{path}: a COCO captions file needs an 'images' list and an 'annotations' list")
    names: dict[object, str] = {}
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise DataError(f"{path}: images[{i}] needs 'id' and 'file_name'")
        names[image["id"]] = image["file_name"]
    captions: dict[str, list[str]] = {name: [] for name in names.values()}
    for i, annotation in enumerate(data.get("annotations") or []):
        if not isinstance(annotation, dict) or not isinstance(annotation.get("caption"), str):
            raise DataError(f"{path}: annotations[{i}] needs a 'caption' string")
        if annotation.get("image_id") not in names:
            raise DataError(f"{path}: annotations[{i}].image_id={annotation.get('image_id')!r} is not in 'images'")
        captions[names[annotation["image_id"]]].append(annotation["caption"].strip())
    return captions
