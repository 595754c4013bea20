"""Editing scores: L1 / L2 against numpy and scikit-image, CLIP scores against transformers' CLIPModel.forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import mean_squared_error
from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

from idiff_editing.scores import ScoreInputs, missing_scores, pixel_errors, quality_scores


def test_l1_l2_match_references() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 16, 20, 3), dtype=np.uint8)
    l1, l2 = pixel_errors(a, b)
    assert l1 == pytest.approx(np.mean(np.abs(a / 255.0 - b / 255.0)), rel=1e-12)
    assert l2 == pytest.approx(mean_squared_error(a / 255.0, b / 255.0), rel=1e-12)
    assert pixel_errors(a, a) == (0.0, 0.0)
    assert pixel_errors(np.zeros_like(a), np.full_like(a, 255)) == (1.0, 1.0)
    with pytest.raises(ValueError, match="differ in shape"):
        pixel_errors(a, b[:8])


def test_missing_scores_name_the_keys() -> None:
    lines = missing_scores("", "")
    assert "set task.clip_model=PATH" in lines[0] and "set task.aesthetic_predictor=PATH" in lines[1]
    assert missing_scores("/clip", "/mlp.pth") == []


def test_clip_scores_by_hand(idiff_tiny_clip) -> None:
    from idiff.quality.clip_scores import ClipEmbedder

    rng = np.random.default_rng(1)
    sources, edited, targets = (list(rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)) for _ in range(3))
    inputs = ScoreInputs(sources, edited, targets, ["a cat", "", "a dog"], ["a red cat", "a tree", ""])
    scores = quality_scores(inputs, ClipEmbedder.from_folder(idiff_tiny_clip, batch_size=2))

    model = CLIPModel.from_pretrained(idiff_tiny_clip).eval()
    processor = CLIPImageProcessor.from_pretrained(idiff_tiny_clip)
    tokenizer = CLIPTokenizer.from_pretrained(idiff_tiny_clip)
    texts = ["a cat", "a red cat", "a tree"]
    with torch.no_grad():
        out = model(input_ids=tokenizer(texts, padding=True, return_tensors="pt")["input_ids"],
                    pixel_values=processor(images=sources + edited + targets, return_tensors="pt")["pixel_values"])
    image, text = out.image_embeds.double(), out.text_embeds.double()
    src, gen, tgt = image[:3], image[3:6], image[6:]
    assert scores["CLIP-I"] == pytest.approx((gen * tgt).sum(1).numpy(), abs=1e-5)
    clip_t = scores["CLIP-T"]
    assert clip_t[0] == pytest.approx(float(gen[0] @ text[1]), abs=1e-5)
    assert clip_t[1] == pytest.approx(float(gen[1] @ text[2]), abs=1e-5) and np.isnan(clip_t[2])
    d_image, d_text = gen[0] - src[0], text[1] - text[0]
    assert scores["CLIP-dir"][0] == pytest.approx(float(d_image @ d_text / (d_image.norm() * d_text.norm())), abs=1e-5)
    assert np.isnan(scores["CLIP-dir"][1:]).all() and "aesthetic" not in scores
