"""A tiny random CLIP model saved as a local ``transformers`` folder, for tests of :mod:`idiff.quality`.

The folder has what :meth:`idiff.quality.clip_scores.ClipEmbedder.from_folder` reads, written by the real
``save_pretrained`` methods: a random :class:`~transformers.CLIPModel` (2 layers of width 32 per tower, 32 px images
in 8 px patches, 16-d projections), a :class:`~transformers.CLIPImageProcessor` at 32 px and the CLIP tokenizer
rebuilt offline from the bundled BPE vocabulary (:func:`idiff.text.build_tokenizer`). Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["TINY_CLIP_PROJECTION", "write_tiny_clip"]

#: ``projection_dim`` of the tiny model: the size of its embeddings.
TINY_CLIP_PROJECTION = 16


def write_tiny_clip(folder: str | Path, seed: int = 0, image_size: int = 32) -> Path:
    """Write a random tiny CLIP model, image processor and tokenizer to ``folder``; returns it."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from idiff.text import build_tokenizer, clip_bpe_vocabulary

    vocab, _ = clip_bpe_vocabulary()
    tower = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
    text = {
        **tower, "vocab_size": len(vocab), "max_position_embeddings": 77, "bos_token_id": vocab["<|startoftext|>"],
        "eos_token_id": vocab["<|endoftext|>"], "pad_token_id": vocab["<|endoftext|>"],
    }
    vision = {**tower, "image_size": image_size, "patch_size": 8}
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=TINY_CLIP_PROJECTION)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = CLIPModel(config)
    folder = Path(folder)
    model.save_pretrained(folder)
    processor = CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor.save_pretrained(folder)
    build_tokenizer().save_pretrained(folder)
    return folder
