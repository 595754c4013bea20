"""The LAION improved aesthetic predictor (idiff.quality.aesthetic): its state-dict layout, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from idiff.errors import ConfigError
from idiff.quality.aesthetic import aesthetic_scores, load_aesthetic_predictor
from idiff.quality.clip_scores import ClipEmbedder
from idiff.testing.tiny_clip import TINY_CLIP_PROJECTION


def _released_layout(input_size: int) -> nn.Sequential:
    """The predictor's MLP as its repository defines it (Linear / Dropout, no activations), randomly initialised."""
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Linear(input_size, 1024), nn.Dropout(0.2), nn.Linear(1024, 128), nn.Dropout(0.2),
        nn.Linear(128, 64), nn.Dropout(0.1), nn.Linear(64, 16), nn.Linear(16, 1),
    )


def _save(path, layers: nn.Sequential) -> None:
    torch.save({f"layers.{k}": v for k, v in layers.state_dict().items()}, path)


def test_scores_equal_the_layers_applied_by_hand(tmp_path, idiff_tiny_clip) -> None:
    layers = _released_layout(TINY_CLIP_PROJECTION)
    _save(tmp_path / "mlp.pth", layers)
    predictor = load_aesthetic_predictor(tmp_path / "mlp.pth")
    embedder = ClipEmbedder.from_folder(idiff_tiny_clip)
    images = [np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8) for i in range(3)]
    scores = aesthetic_scores(images, embedder, predictor)
    x = embedder.embed_images(images).double()
    x = x / x.norm(dim=1, keepdim=True)
    for index in (0, 2, 4, 6, 7):  # dropout is the identity at inference
        weight, bias = layers[index].weight.detach().double(), layers[index].bias.detach().double()
        x = x @ weight.T + bias
    assert scores == pytest.approx(x[:, 0].numpy(), rel=1e-5, abs=1e-6)
    assert len(set(np.round(scores, 6))) == 3


def test_bad_files_name_the_key(tmp_path, idiff_tiny_clip) -> None:
    with pytest.raises(ConfigError, match=r"task.aesthetic_predictor=.*missing.pth: file not found"):
        load_aesthetic_predictor(tmp_path / "missing.pth", "task.aesthetic_predictor")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="junk.pth: cannot read it as a torch state dict"):
        load_aesthetic_predictor(tmp_path / "junk.pth")
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="no 'layers.0.weight'"):
        load_aesthetic_predictor(tmp_path / "other.pth")
    _save(tmp_path / "vit_l.pth", _released_layout(768))
    predictor = load_aesthetic_predictor(tmp_path / "vit_l.pth")
    with pytest.raises(ConfigError, match="takes 768-d embeddings but the CLIP model gives 16-d"):
        aesthetic_scores([np.zeros((32, 32, 3), np.uint8)], ClipEmbedder.from_folder(idiff_tiny_clip), predictor)
