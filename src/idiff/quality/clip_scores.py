"""CLIP embeddings and similarities for scoring edited images (Radford et al., ICML 2021).

The usual scores of instruction-guided editing (InstructPix2Pix Sec. 4, MagicBrush Sec. 5) are cosines between
L2-normalised CLIP embeddings:

- **CLIP-I**: generated image vs the ground-truth target image;
- **CLIP-T**: generated image vs a caption of the target (``output`` of an InstructPix2Pix ``prompt.json``);
- **CLIP-dir** (directional similarity): the change of the image embedding, ``E(generated) - E(source)``, vs the
  change of the caption embedding, ``T(output caption) - T(input caption)``.

:class:`ClipEmbedder` reads a local ``transformers`` CLIP folder (``CLIPModel.save_pretrained`` plus its processor:
``config.json``, the weights, ``preprocessor_config.json`` and the tokenizer files) with ``local_files_only=True``;
it never downloads. Images are embedded in batches of ``batch_size`` with the folder's own preprocessing (resize,
centre crop, normalisation), texts padded and truncated to the model's context length.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from idiff.errors import ConfigError

__all__ = ["ClipEmbedder", "cosine_rows", "directional_similarity"]


def _features(output: object) -> torch.Tensor:
    """Projected features from ``get_*_features`` (a tensor in transformers 4, an output object in 5)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output  # type: ignore[attr-defined]


def _normalise(features: torch.Tensor) -> torch.Tensor:
    return features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class ClipEmbedder:
    """L2-normalised CLIP image and text embeddings, computed in batches.

    Args:
        model: a ``transformers.CLIPModel``.
        image_processor: its image processor (``CLIPImageProcessor``).
        tokenizer: its tokenizer.
        batch_size: images or texts per forward pass.
        device: where the model runs.
    """

    def __init__(self, model, image_processor, tokenizer, batch_size: int = 32, device: str | torch.device = "cpu"):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @classmethod
    def from_folder(
        cls, path: str | Path, key: str = "clip_model", batch_size: int = 32, device: str | torch.device = "cpu"
    ) -> ClipEmbedder:
        """Load a local CLIP folder; ``key`` names the option that gave ``path`` in error messages.

        Raises:
            ConfigError: ``path`` is not a folder holding a CLIP model, its image processor and its tokenizer.
        """
        from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

        folder = Path(path).expanduser()
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"{key}={path}: not a local CLIP folder (no config.json); give a folder written by "
                "CLIPModel.save_pretrained and its processor's save_pretrained (nothing is downloaded)"
            )
        try:
            model = CLIPModel.from_pretrained(folder, local_files_only=True)
            processor = CLIPImageProcessor.from_pretrained(folder, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(
                f"{key}={path}: cannot load a CLIP model, image processor and tokenizer from it ({first})"
            ) from None
        return cls(model, processor, tokenizer, batch_size=batch_size, device=device)

    @property
    def dim(self) -> int:
        """Size of the embeddings (the model's ``projection_dim``)."""
        return int(self.model.config.projection_dim)

    @torch.no_grad()
    def embed_images(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """(N, dim) float32 unit vectors of uint8 (H, W, 3) RGB images, on the CPU."""
        out = []
        for start in range(0, len(images), self.batch_size):
            batch = [np.array(image, dtype=np.uint8)[..., :3] for image in images[start : start + self.batch_size]]
            pixels = self.image_processor(images=batch, return_tensors="pt")["pixel_values"].to(self.device)
            out.append(_normalise(_features(self.model.get_image_features(pixel_values=pixels)).float()).cpu())
        return torch.cat(out) if out else torch.zeros(0, self.dim)

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, dim) float32 unit vectors of texts, on the CPU (truncated to the model's context length)."""
        out = []
        length = int(self.model.config.text_config.max_position_embeddings)
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(
                list(texts[start : start + self.batch_size]), padding=True, truncation=True, max_length=length,
                return_tensors="pt",
            ).to(self.device)
            features = self.model.get_text_features(
                input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
            )
            out.append(_normalise(_features(features).float()).cpu())
        return torch.cat(out) if out else torch.zeros(0, self.dim)


def cosine_rows(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Cosine similarity of each row of ``a`` with the same row of ``b``, float64 (N,)."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare embeddings of shapes {tuple(a.shape)} and {tuple(b.shape)}")
    a, b = a.double(), b.double()
    return (torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-12)).numpy()


def directional_similarity(
    source_images: torch.Tensor, edited_images: torch.Tensor, source_texts: torch.Tensor, target_texts: torch.Tensor
) -> np.ndarray:
    """Directional CLIP similarity (InstructPix2Pix Sec. 4.1): cos(E(edited) - E(source), T(target) - T(source))."""
    return cosine_rows(edited_images - source_images, target_texts - source_texts)
