"""Instructions of the synthetic edits (:mod:`idiff_editing.shapes`); real datasets bring their own.

Each edit has a few phrasings, as InstructDiffusion's hand-written templates vary the wording of a task; the
placeholders are ``{colour}``, ``{kind}`` (the shape named), ``{a}`` (its article, a or an) and ``{new}`` (the new
colour of a recolour).
"""

from __future__ import annotations

__all__ = ["EDIT_TEMPLATES"]

EDIT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "recolour": (
        "turn the {colour} {kind} {new}",
        "make the {colour} {kind} {new}",
        "change the colour of the {colour} {kind} to {new}",
        "paint the {colour} {kind} {new}",
    ),
    "remove": (
        "remove the {colour} {kind}",
        "delete the {colour} {kind}",
        "take away the {colour} {kind}",
        "erase the {colour} {kind}",
    ),
    "add": (
        "add {a} {colour} {kind}",
        "draw {a} {colour} {kind}",
        "put {a} {colour} {kind} in the picture",
        "place {a} {colour} {kind} in an empty spot",
    ),
}
