"""Conditioning dropout: train the conditional and unconditional models at once (classifier-free guidance).

InstructDiffusion's public code drops the instruction with p=0.075 and the source image with p=0.075, never both;
InstructPix2Pix drops text only, image only and both, 5% each (PAPER.md "Model and training").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["ConditioningDropout"]


@dataclass
class ConditioningDropout:
    """Per-sample masks saying which conditions to drop.

    Attributes:
        text_only: probability of dropping only the instruction.
        image_only: probability of dropping only the source image.
        both: probability of dropping both.
    """

    text_only: float = 0.075
    image_only: float = 0.075
    both: float = 0.0

    def __post_init__(self) -> None:
        probabilities = (self.text_only, self.image_only, self.both)
        if min(probabilities) < 0 or sum(probabilities) > 1:
            raise ValueError(
                f"stage.dropout: probabilities must be >= 0 and sum to <= 1, got text_only={self.text_only}, "
                f"image_only={self.image_only}, both={self.both}"
            )

    @classmethod
    def preset(cls, name: str) -> ConditioningDropout:
        """``instruct_diffusion`` (7.5% / 7.5% / 0) or ``instruct_pix2pix`` (5% / 5% / 5%)."""
        match name:
            case "instruct_diffusion":
                return cls(0.075, 0.075, 0.0)
            case "instruct_pix2pix":
                return cls(0.05, 0.05, 0.05)
            case _:
                raise ValueError(f"dropout preset {name!r} is unknown; allowed: instruct_diffusion, instruct_pix2pix")

    def sample(
        self, batch_size: int, device: torch.device, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Boolean masks ``(drop_text, drop_image)`` of shape (batch_size,)."""
        u = torch.rand(batch_size, device=device, generator=generator)
        drop_text = u < self.text_only + self.both
        drop_image = (u >= self.text_only) & (u < self.text_only + self.both + self.image_only)
        return drop_text, drop_image
