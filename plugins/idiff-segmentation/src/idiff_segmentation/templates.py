"""Instruction templates for segmentation (PAPER.md "Encodings" -> Segmentation, "Instructions").

The public code has 11 templates such as "Mark the pixels of {object} in {color} and leave the rest
unchanged."; the paper uses ~10 hand-written templates per task (later expanded by an LLM). These are
hand-written in the same style, 12 per task. Referring templates take a referring expression as ``{object}``
("the red circle on the left"); semantic templates take a class name ("grass"). Every template has the fields
``{object}`` and ``{color}`` and says the rest of the image stays as it is.
"""

from __future__ import annotations

__all__ = ["REFERRING_TEMPLATES", "SEMANTIC_TEMPLATES", "build_instruction", "templates_for"]

#: Templates whose ``{object}`` is a referring expression.
REFERRING_TEMPLATES: tuple[str, ...] = (
    "Mark the pixels of {object} in {color} and leave the rest unchanged.",
    "Paint {object} with a transparent {color} layer and keep everything else as it is.",
    "Cover {object} with semi-transparent {color}, leave the other pixels untouched.",
    "Highlight {object} in {color}; do not change the rest of the image.",
    "Fill the region of {object} with translucent {color} and leave the rest unchanged.",
    "Color {object} {color} at half opacity and keep the rest of the picture the same.",
    "Segment {object} and show its mask in {color}, leaving other pixels as they are.",
    "Find {object} and tint it {color}; everything else stays unchanged.",
    "Put a see-through {color} mask on {object} and change nothing else.",
    "Shade every pixel of {object} in {color} and keep the remaining pixels unchanged.",
    "Overlay {color} on {object} only, leaving the rest of the image as it is.",
    "Mark {object} with a {color} transparent mask and leave the background unchanged.",
)

#: Templates whose ``{object}`` is a class name.
SEMANTIC_TEMPLATES: tuple[str, ...] = (
    "Mark the pixels of {object} in {color} and leave the rest unchanged.",
    "Paint all {object} pixels with a transparent {color} layer and keep everything else as it is.",
    "Cover every region of {object} with semi-transparent {color}, leave the other pixels untouched.",
    "Highlight all the {object} in {color}; do not change the rest of the image.",
    "Fill the areas of {object} with translucent {color} and leave the rest unchanged.",
    "Color the {object} {color} at half opacity and keep the rest of the picture the same.",
    "Segment the {object} and show its mask in {color}, leaving other pixels as they are.",
    "Find every {object} region and tint it {color}; everything else stays unchanged.",
    "Put a see-through {color} mask on all {object} pixels and change nothing else.",
    "Shade each pixel that belongs to {object} in {color} and keep the remaining pixels unchanged.",
    "Overlay {color} on the {object} only, leaving the rest of the image as it is.",
    "Mark the {object} class with a {color} transparent mask and leave the background unchanged.",
)


def templates_for(kind: str) -> tuple[str, ...]:
    """The templates of ``kind``: ``"referring"`` or ``"semantic"``."""
    if kind == "referring":
        return REFERRING_TEMPLATES
    if kind == "semantic":
        return SEMANTIC_TEMPLATES
    raise ValueError(f"unknown template kind {kind!r}; known: referring, semantic")


def build_instruction(kind: str, obj: str, colour: str, template: int = 0) -> str:
    """Fill one template.

    Args:
        kind: ``"referring"`` or ``"semantic"``.
        obj: the referring expression or class name.
        colour: the colour name.
        template: index into the kind's templates (taken modulo their number).

    Returns:
        The instruction, e.g. "Mark the pixels of the red circle in blue and leave the rest unchanged."
    """
    if not obj.strip():
        raise ValueError("an instruction needs a non-empty object (referring expression or class name)")
    chosen = templates_for(kind)
    return chosen[template % len(chosen)].format(object=obj.strip(), color=colour)
