"""The LAION aesthetic score: the "improved aesthetic predictor" MLP over CLIP ViT-L/14 image embeddings.

PAPER.md ("Editing-data filtering", "Evaluation"): InstructDiffusion drops editing targets of low LAION aesthetic
score and reports the score of its edits. The predictor (C. Schuhmann, ``improved-aesthetic-predictor``, weights
such as ``sac+logos+ava1-l14-linearMSE.pth``) is five linear layers without activations, with dropout between the
first four, applied to the L2-normalised CLIP image embedding (768-d for ViT-L/14)::

    layers.0 Linear(768, 1024)  layers.1 Dropout(0.2)
    layers.2 Linear(1024, 128)  layers.3 Dropout(0.2)
    layers.4 Linear(128, 64)    layers.5 Dropout(0.1)
    layers.6 Linear(64, 16)     layers.7 Linear(16, 1)

:func:`load_aesthetic_predictor` reads such a state dict from a local file (``.pth`` through ``torch.load``, weights
only, or ``.safetensors``); its input
size is taken from ``layers.0.weight``, so it must match the CLIP model's ``projection_dim``. Scores are on AVA's
1-10 scale for the released weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from idiff.errors import ConfigError
from idiff.quality.clip_scores import ClipEmbedder

__all__ = ["AestheticPredictor", "AestheticScorer", "aesthetic_scores", "load_aesthetic_predictor", "score_embeddings"]

#: (output size, dropout after it) of the hidden linear layers; the last layer maps 16 -> 1.
HIDDEN = ((1024, 0.2), (128, 0.2), (64, 0.1), (16, None))


class AestheticPredictor(nn.Module):
    """The improved aesthetic predictor's MLP (layer names as in its state dicts)."""

    def __init__(self, input_size: int = 768) -> None:
        super().__init__()
        modules: list[nn.Module] = []
        size = input_size
        for width, dropout in HIDDEN:
            modules.append(nn.Linear(size, width))
            if dropout is not None:
                modules.append(nn.Dropout(dropout))
            size = width
        modules.append(nn.Linear(size, 1))
        self.layers = nn.Sequential(*modules)
        self.input_size = input_size

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(N,) scores of (N, input_size) L2-normalised image embeddings."""
        return self.layers(embeddings).squeeze(-1)


def load_aesthetic_predictor(path: str | Path, key: str = "aesthetic_predictor") -> AestheticPredictor:
    """The predictor stored at ``path`` (a state dict), in eval mode; ``key`` names the option in errors.

    Raises:
        ConfigError: the file is missing, unreadable or does not hold the predictor's layers.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"{key}={path}: file not found (a state dict of the improved aesthetic predictor's MLP)")
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(file, device="cpu")
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch.load raises pickle, zip and runtime errors alike
        raise ConfigError(f"{key}={path}: cannot read it as a state dict ({type(err).__name__}: {err})") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    weight = state.get("layers.0.weight") if isinstance(state, dict) else None
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise ConfigError(f"{key}={path}: no 'layers.0.weight' matrix; not an improved aesthetic predictor state dict")
    predictor = AestheticPredictor(int(weight.shape[1]))
    try:
        predictor.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise ConfigError(f"{key}={path}: layers differ from the aesthetic predictor's ({first})") from None
    return predictor.eval()


@torch.no_grad()
def score_embeddings(embeddings: torch.Tensor, predictor: AestheticPredictor) -> np.ndarray:
    """Aesthetic scores, float64 (N,), of (N, d) L2-normalised CLIP image embeddings."""
    if embeddings.shape[-1] != predictor.input_size:
        raise ConfigError(
            f"the aesthetic predictor takes {predictor.input_size}-d embeddings but the CLIP model gives "
            f"{embeddings.shape[-1]}-d ones (the released predictors need CLIP ViT-L/14)"
        )
    return predictor(embeddings.float()).double().numpy()


def aesthetic_scores(
    images: Sequence[np.ndarray], embedder: ClipEmbedder, predictor: AestheticPredictor
) -> np.ndarray:
    """Aesthetic score of each uint8 (H, W, 3) image, float64 (N,): the MLP on its normalised CLIP embedding."""
    return score_embeddings(embedder.embed_images(images), predictor)


class AestheticScorer:
    """Images -> aesthetic scores, from a local CLIP folder and a local predictor file (``idiff data filter``'s scorer).

    Args:
        clip_model: the CLIP ViT-L/14 folder (see :meth:`~idiff.quality.clip_scores.ClipEmbedder.from_folder`).
        predictor: the predictor's state dict (see :func:`load_aesthetic_predictor`).
        batch_size: images per CLIP forward pass.
        clip_key: the option that gave ``clip_model``, for error messages.
        predictor_key: the option that gave ``predictor``, for error messages.

    Raises:
        ConfigError: a path is wrong, or the predictor does not take the CLIP model's embeddings.
    """

    def __init__(
        self, clip_model: str | Path, predictor: str | Path, batch_size: int = 32, device: str | torch.device = "cpu",
        clip_key: str = "filter.clip_model", predictor_key: str = "filter.aesthetic_predictor",
    ) -> None:
        self.embedder = ClipEmbedder.from_folder(clip_model, clip_key, batch_size, device)
        self.predictor = load_aesthetic_predictor(predictor, predictor_key)
        score_embeddings(torch.zeros(0, self.embedder.dim), self.predictor)  # refuse a size mismatch now

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(N,) float64 scores of uint8 (H, W, 3) images."""
        return aesthetic_scores(images, self.embedder, self.predictor)
