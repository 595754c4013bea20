"""Instruction templates for detection as a segmentation-like mark (PAPER.md "Encodings" -> Detection).

The paper asks for "a segmentation-like mark" and takes each box from the marked region; it publishes no detection
templates. These are hand-written in the style of its segmentation templates ("Mark the pixels of {object} in
{color} and leave the rest unchanged."), 10 per kind of mark. ``{object}`` is a category name and every template
asks for *every* object of it, since a detector must find them all. Mask templates ask to cover the objects' pixels,
box templates to cover each object's box; either way the box is read from the marked region.
"""

from __future__ import annotations

__all__ = ["BOX_TEMPLATES", "MASK_TEMPLATES", "build_instruction", "templates_for"]

#: Templates for a mark over each object's pixels (``mark=mask``).
MASK_TEMPLATES: tuple[str, ...] = (
    "Mark the pixels of every {object} in {color} and leave the rest unchanged.",
    "Cover each {object} with a semi-transparent {color} mask and keep everything else as it is.",
    "Find all the {object} objects and tint them {color}; leave the other pixels untouched.",
    "Paint every {object} with a translucent {color} layer, changing nothing else.",
    "Highlight each {object} in {color} and do not change the rest of the image.",
    "Shade all pixels that belong to a {object} in {color} and keep the background unchanged.",
    "Detect every {object} and show it with a see-through {color} mask.",
    "Overlay {color} on each {object} in the picture, leaving the rest as it is.",
    "Color all {object} instances {color} at half opacity and keep the other pixels the same.",
    "Locate the {object} objects and mark each of them in {color}, nothing else.",
)

#: Templates for a mark over each object's box (``mark=box``).
BOX_TEMPLATES: tuple[str, ...] = (
    "Cover the bounding box of every {object} with semi-transparent {color} and leave the rest unchanged.",
    "Draw a filled, see-through {color} box over each {object} and keep everything else as it is.",
    "Find all the {object} objects and shade the box around each one {color}.",
    "Put a translucent {color} rectangle on every {object}, changing nothing else.",
    "Detect each {object} and mark its box in {color}; leave the other pixels untouched.",
    "Highlight the rectangle enclosing every {object} in {color} and keep the background unchanged.",
    "Tint the box of each {object} {color} at half opacity and leave the rest of the image the same.",
    "Locate every {object} and cover it with a {color} box.",
    "Mark each {object} with a semi-transparent {color} bounding box.",
    "Overlay a {color} rectangle on every {object} in the picture, leaving the rest as it is.",
)


def templates_for(mark: str) -> tuple[str, ...]:
    """The templates of a kind of mark: ``"mask"`` or ``"box"``."""
    if mark == "mask":
        return MASK_TEMPLATES
    if mark == "box":
        return BOX_TEMPLATES
    raise ValueError(f"unknown mark {mark!r}; known: mask, box")


def build_instruction(mark: str, category: str, colour: str, template: int = 0) -> str:
    """Fill template ``template`` (modulo their number) of ``mark`` with the category name and the colour."""
    if not category.strip():
        raise ValueError("a detection instruction needs a category name")
    chosen = templates_for(mark)
    return chosen[template % len(chosen)].format(object=category.strip(), color=colour)
