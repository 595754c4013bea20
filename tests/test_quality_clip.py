"""CLIP embeddings and similarities (idiff.quality.clip_scores) against transformers' own CLIPModel.forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

from idiff.errors import ConfigError
from idiff.quality.clip_scores import ClipEmbedder, cosine_rows, directional_similarity


def _images(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (40 + 8 * i, 48, 3), dtype=np.uint8) for i in range(count)]


def _reference(folder, images, texts) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised image and text embeddings from CLIPModel.forward (its own image_embeds / text_embeds)."""
    model = CLIPModel.from_pretrained(folder).eval()
    pixels = CLIPImageProcessor.from_pretrained(folder)(images=images, return_tensors="pt")["pixel_values"]
    tokens = CLIPTokenizer.from_pretrained(folder)(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"], pixel_values=pixels)
    return out.image_embeds, out.text_embeds


def test_embeddings_match_clip_forward_in_any_batch_size(idiff_tiny_clip) -> None:
    images, texts = _images(3), ["turn the red circle blue", "a blue circle", "remove the green square now"]
    ref_images, ref_texts = _reference(idiff_tiny_clip, images, texts)
    for batch_size in (1, 2, 8):
        embedder = ClipEmbedder.from_folder(idiff_tiny_clip, batch_size=batch_size)
        assert torch.allclose(embedder.embed_images(images), ref_images, atol=1e-5)
        assert torch.allclose(embedder.embed_texts(texts), ref_texts, atol=1e-5)


def test_similarities_by_hand(idiff_tiny_clip) -> None:
    images = _images(4, seed=1)
    ref_images, ref_texts = _reference(idiff_tiny_clip, images, ["a red circle", "a blue circle"])
    embedder = ClipEmbedder.from_folder(idiff_tiny_clip)
    embedded = embedder.embed_images(images)
    clip_i = cosine_rows(embedded[:2], embedded[2:])
    hand = [float(ref_images[0] @ ref_images[2]), float(ref_images[1] @ ref_images[3])]
    assert clip_i == pytest.approx(hand, abs=1e-5)
    d_image, d_text = ref_images[1] - ref_images[0], ref_texts[1] - ref_texts[0]
    hand_dir = float(d_image @ d_text / (d_image.norm() * d_text.norm()))
    texts = embedder.embed_texts(["a red circle", "a blue circle"])
    got = directional_similarity(embedded[:1], embedded[1:2], texts[:1], texts[1:2])
    assert got == pytest.approx([hand_dir], abs=1e-5)
    assert cosine_rows(embedded, embedded) == pytest.approx(np.ones(4), abs=1e-6)


def test_a_missing_folder_names_the_key_and_downloads_nothing(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"task.clip_model=.*nope: not a local CLIP folder"):
        ClipEmbedder.from_folder(tmp_path / "nope", key="task.clip_model")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="task.clip_model=.*half: cannot load"):
        ClipEmbedder.from_folder(tmp_path / "half", key="task.clip_model")
