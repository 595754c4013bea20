"""Instruction templates for keypoint detection (PAPER.md "Encodings" -> Keypoints, "Instructions").

The public code concatenates one phrase per requested keypoint, e.g.
"Circle the {joint} of the people with the color {color}, ". The paper uses ~10 hand-written templates
per task (later expanded by an LLM); these are hand-written in the same style. One template is chosen
per instruction and applied to every requested joint; phrases are joined and the trailing ", " becomes ".".
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["KEYPOINT_TEMPLATES", "build_instruction"]

#: Per-keypoint phrases; each has the fields ``{joint}`` and ``{color}`` and ends with ", ".
KEYPOINT_TEMPLATES: tuple[str, ...] = (
    "Circle the {joint} of the people with the color {color}, ",
    "Use the color {color} to circle the {joint} of the person, ",
    "Mark the {joint} of the person with a {color} circle, ",
    "Draw a {color} circle on the {joint} of the people, ",
    "Put a {color} dot on the {joint} of the person, ",
    "Locate the {joint} of the person and circle it in {color}, ",
    "Highlight the {joint} of the people with a {color} disk, ",
    "Place a {color} circle where the {joint} of the person is, ",
    "Find the {joint} of the person and mark it with the color {color}, ",
    "Indicate the {joint} of the people using a {color} circle, ",
    "Paint a {color} circle over the {joint} of the person, ",
    "Show where the {joint} of the person is with a {color} mark, ",
)


def build_instruction(joints: Sequence[str], colours: Sequence[str], template: int = 0) -> str:
    """Concatenate one phrase per (joint, colour).

    Args:
        joints: human-readable joint names, e.g. ``["left wrist", "nose"]``.
        colours: colour names, same length.
        template: index into :data:`KEYPOINT_TEMPLATES` (taken modulo its length).

    Returns:
        The instruction, e.g. "Circle the nose of the people with the color red."

    Raises:
        ValueError: lengths differ or nothing is requested.
    """
    if len(joints) != len(colours):
        raise ValueError(f"{len(joints)} joints but {len(colours)} colours")
    if not joints:
        raise ValueError("an instruction needs at least one joint")
    t = KEYPOINT_TEMPLATES[template % len(KEYPOINT_TEMPLATES)]
    text = "".join(t.format(joint=j, color=c) for j, c in zip(joints, colours, strict=True))
    return text.rstrip(", ") + "."
