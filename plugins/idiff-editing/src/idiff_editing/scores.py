"""Scores of edited images: L1 / L2 against the ground truth, CLIP similarities and the LAION aesthetic score.

- ``L1`` and ``L2``: mean absolute and mean squared difference between the edited image and the ground-truth
  target, both as floats in [0, 1] (MagicBrush's pixel metrics); lower is better.
- ``CLIP-I``: cosine of the CLIP embeddings of the edited image and the target (MagicBrush, Emu Edit);
  ``CLIP-T``: cosine of the edited image and the target's caption (PAPER.md "Evaluation": CLIP-Sim to a target
  caption); ``CLIP-dir``: InstructPix2Pix's directional similarity, which needs both captions. Caption scores are
  averaged over the pairs that have the captions (InstructPix2Pix's ``prompt.json`` and synthetic data have both,
  a manifest when it has ``input_caption`` / ``output_caption``, MagicBrush's release none).
- ``aesthetic``: the LAION improved aesthetic predictor on the edited image.

The CLIP and aesthetic scores need weights on disk (``clip_model``, ``aesthetic_predictor``, loaded with
:mod:`idiff.quality`); when they are not configured :func:`missing_scores` says which key to set. Nothing is
ever downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ScoreInputs", "missing_scores", "pixel_errors", "quality_scores"]


@dataclass(frozen=True)
class ScoreInputs:
    """What the scores read of each evaluated pair (uint8 (H, W, 3) images, captions possibly empty)."""

    sources: Sequence[np.ndarray]
    edited: Sequence[np.ndarray]
    targets: Sequence[np.ndarray]
    input_captions: Sequence[str]
    output_captions: Sequence[str]


def pixel_errors(edited: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(L1, L2) of two uint8 images of the same shape, on [0, 1]."""
    a, b = np.asarray(edited, np.float64) / 255.0, np.asarray(target, np.float64) / 255.0
    if a.shape != b.shape:
        raise ValueError(f"edited image {a.shape} and target {b.shape} differ in shape")
    diff = a - b
    return float(np.abs(diff).mean()), float((diff**2).mean())


def missing_scores(clip_model: str, aesthetic_predictor: str, key_prefix: str = "task.") -> list[str]:
    """One line per score that is off, naming the key that turns it on."""
    lines = []
    if not clip_model:
        lines.append(f"CLIP-I, CLIP-T, CLIP-dir not computed: set {key_prefix}clip_model=PATH "
                     "(a local transformers CLIP folder; nothing is downloaded)")
    if not aesthetic_predictor:
        lines.append(f"aesthetic not computed: set {key_prefix}aesthetic_predictor=PATH (the improved aesthetic "
                     f"predictor's state dict, with {key_prefix}clip_model a CLIP ViT-L/14 folder)")
    return lines


def quality_scores(inputs: ScoreInputs, embedder, predictor=None) -> dict[str, np.ndarray]:
    """Per-image CLIP scores (and ``aesthetic`` when ``predictor`` is given); NaN where a caption is missing.

    Args:
        inputs: the evaluated pairs.
        embedder: an :class:`idiff.quality.clip_scores.ClipEmbedder`.
        predictor: an :class:`idiff.quality.aesthetic.AestheticPredictor` over the same CLIP space, or None.
    """
    from idiff.quality.aesthetic import score_embeddings
    from idiff.quality.clip_scores import cosine_rows, directional_similarity

    n = len(inputs.edited)
    edited = embedder.embed_images(list(inputs.edited))
    out = {"CLIP-I": cosine_rows(edited, embedder.embed_images(list(inputs.targets)))}
    clip_t, clip_dir = np.full(n, np.nan), np.full(n, np.nan)
    has_output = [i for i in range(n) if inputs.output_captions[i]]
    if has_output:
        texts = embedder.embed_texts([inputs.output_captions[i] for i in has_output])
        clip_t[has_output] = cosine_rows(edited[has_output], texts)
        both = [k for k, i in enumerate(has_output) if inputs.input_captions[i]]
        if both:
            rows = [has_output[k] for k in both]
            sources = embedder.embed_images([inputs.sources[i] for i in rows])
            captions = embedder.embed_texts([inputs.input_captions[i] for i in rows])
            clip_dir[rows] = directional_similarity(sources, edited[rows], captions, texts[both])
    out["CLIP-T"], out["CLIP-dir"] = clip_t, clip_dir
    if predictor is not None:
        out["aesthetic"] = score_embeddings(edited, predictor)
    return out
