"""The text side: the offline CLIP tokenizer's ids and the random text encoder's initialisation."""

from __future__ import annotations

import pytest
import torch

from idiff.text import build_text_encoder, build_tokenizer, encode_instructions

JOINTS = ("nose", "knee", "hip", "wrist")


def joint_position_similarity(token_embedding_std: float | None) -> float:
    """Largest cosine similarity, between instructions naming different joints, of the joint word's hidden state."""
    tokenizer = build_tokenizer()
    encoder = build_text_encoder(token_embedding_std=token_embedding_std).eval()
    instructions = [f"Circle the {joint} of the people with the color red." for joint in JOINTS]
    ids = tokenizer(instructions).input_ids
    assert all(len(i) == len(ids[0]) for i in ids), "each joint must be one token for this comparison"
    with torch.no_grad():
        states = encode_instructions(tokenizer, encoder, instructions, torch.device("cpu"))[:, 3]  # <bos> circle the
    states = torch.nn.functional.normalize(states, dim=-1)
    similarity = states @ states.T
    return float(similarity[~torch.eye(len(JOINTS), dtype=torch.bool)].max())


def test_tokenizer_matches_clip_ids() -> None:
    ids = build_tokenizer()("a photo of a cat").input_ids
    assert ids == [49406, 320, 1125, 539, 320, 2368, 49407]  # openai/clip-vit-large-patch14


@pytest.mark.parametrize("std", [0.5, 1.0])
def test_token_embedding_std_reinitialises_the_token_embeddings(std: float) -> None:
    weight = build_text_encoder(token_embedding_std=std).get_input_embeddings().weight
    assert weight.std().item() == pytest.approx(std, rel=0.02)


def test_unit_scale_token_embeddings_keep_words_apart() -> None:
    # CLIP's init (0.02) lets the first attention layer swamp each token's own identity: joint names become
    # near-duplicates; at unit scale they stay apart (docs/architecture.md, "Where the default stands").
    assert joint_position_similarity(None) > 0.85
    assert joint_position_similarity(1.0) < 0.6
