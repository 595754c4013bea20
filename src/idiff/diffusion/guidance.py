"""Two-scale classifier-free guidance for instruction editing (PAPER.md "Sampling").

Both formulas need three noise predictions per step. ``e(z, cI, cT)`` is the fully conditioned one, ``cI`` the
source-image latent (zeros when dropped) and ``cT`` the instruction (the empty prompt when dropped).

* InstructPix2Pix (Brooks et al. 2023; diffusers' pipeline):
  ``e(z,0,0) + sT (e(z,cI,cT) - e(z,cI,0)) + sI (e(z,cI,0) - e(z,0,0))``
* InstructDiffusion (public code; no fully unconditional term):
  ``0.5 (e(z,cI,0) + e(z,0,cT)) + sT (e(z,cI,cT) - e(z,cI,0)) + sI (e(z,cI,cT) - e(z,0,cT))``
"""

from __future__ import annotations

from typing import Literal

import torch

__all__ = ["GuidanceFormula", "combine_guidance", "guidance_conditions"]

GuidanceFormula = Literal["instruct_diffusion", "instruct_pix2pix"]
FORMULAS: tuple[str, ...] = ("instruct_diffusion", "instruct_pix2pix")


def guidance_conditions(formula: GuidanceFormula) -> tuple[tuple[bool, bool], ...]:
    """The (use image, use text) condition of each of the three predictions, in batch order.

    The first two are shared by both formulas; the third is ``(0, 0)`` for InstructPix2Pix (the order of
    diffusers' pipeline: text, image, unconditional) and ``(0, cT)`` for InstructDiffusion.
    """
    match formula:
        case "instruct_pix2pix":
            return (True, True), (True, False), (False, False)
        case "instruct_diffusion":
            return (True, True), (True, False), (False, True)
        case _:
            raise ValueError(f"sampler.formula: unknown guidance formula {formula!r}; allowed: {', '.join(FORMULAS)}")


def combine_guidance(
    full: torch.Tensor,
    image_only: torch.Tensor,
    third: torch.Tensor,
    text_scale: float | torch.Tensor,
    image_scale: float | torch.Tensor,
    formula: GuidanceFormula,
) -> torch.Tensor:
    """Combine the three predictions ``e(z,cI,cT)``, ``e(z,cI,0)`` and the formula's third into one."""
    match formula:
        case "instruct_pix2pix":
            uncond = third
            return uncond + text_scale * (full - image_only) + image_scale * (image_only - uncond)
        case "instruct_diffusion":
            text_only = third
            return (
                0.5 * (image_only + text_only)
                + text_scale * (full - image_only)
                + image_scale * (full - text_only)
            )
        case _:
            raise ValueError(f"sampler.formula: unknown guidance formula {formula!r}; allowed: {', '.join(FORMULAS)}")
