"""The LAION improved aesthetic predictor (idiff.quality.aesthetic): its state-dict layout, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from idiff.errors import ConfigError
from idiff.quality.aesthetic import AestheticScorer, aesthetic_scores, load_aesthetic_predictor
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
    scorer = AestheticScorer(idiff_tiny_clip, tmp_path / "mlp.pth", batch_size=2)
    assert scorer(images) == pytest.approx(scores, rel=1e-6, abs=1e-7)


def test_bad_files_name_the_key(tmp_path, idiff_tiny_clip) -> None:
    with pytest.raises(ConfigError, match=r"task.aesthetic_predictor=.*missing.pth: file not found"):
        load_aesthetic_predictor(tmp_path / "missing.pth", "task.aesthetic_predictor")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="junk.pth: cannot read it as a state dict"):
        load_aesthetic_predictor(tmp_path / "junk.pth")
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="no 'layers.0.weight'"):
        load_aesthetic_predictor(tmp_path / "other.pth")
    _save(tmp_path / "vit_l.pth", _released_layout(768))
    predictor = load_aesthetic_predictor(tmp_path / "vit_l.pth")
    with pytest.raises(ConfigError, match="takes 768-d embeddings but the CLIP model gives 16-d"):
        aesthetic_scores([np.zeros((32, 32, 3), np.uint8)], ClipEmbedder.from_folder(idiff_tiny_clip), predictor)


def test_the_filter_scorer_refuses_a_size_mismatch_at_once(tmp_path, idiff_tiny_clip) -> None:
    _save(tmp_path / "vit_l.pth", _released_layout(768))
    with pytest.raises(ConfigError, match="takes 768-d embeddings but the CLIP model gives 16-d"):
        AestheticScorer(idiff_tiny_clip, tmp_path / "vit_l.pth")
    with pytest.raises(ConfigError, match="filter.clip_model=.*nothing: not a local CLIP folder"):
        AestheticScorer(tmp_path / "nothing", tmp_path / "vit_l.pth")


def test_safetensors_weights_and_the_data_filter_cli(tmp_path, idiff_tiny_clip, capsys) -> None:
    """``idiff data filter`` with a local CLIP folder and predictor adds each image's score to the kept pairs."""
    import json

    from PIL import Image
    from safetensors.torch import save_file

    from idiff.cli import main

    layers = _released_layout(TINY_CLIP_PROJECTION)
    save_file({f"layers.{k}": v.contiguous() for k, v in layers.state_dict().items()}, tmp_path / "mlp.safetensors")
    rng = np.random.default_rng(0)
    (tmp_path / "pairs").mkdir()
    lines = []
    for i in range(3):
        for side in (0, 1):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / f"pairs/{i}_{side}.png")
        lines.append(json.dumps({"source": f"pairs/{i}_0.png", "target": f"pairs/{i}_1.png", "instruction": "x"}))
    (tmp_path / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    main(["data", "filter", f"filter.manifest={tmp_path / 'pairs.jsonl'}", f"filter.reference={tmp_path / 'pairs'}",
          "filter.backbone=resnet10t", "filter.image_size=32", "filter.k=2", "filter.min_giqa_quantile=null",
          "filter.max_giqa_log_ratio=null", "filter.min_aesthetic=null", "filter.max_aesthetic_gap=null",
          f"filter.clip_model={idiff_tiny_clip}", f"filter.aesthetic_predictor={tmp_path / 'mlp.safetensors'}",
          f"paths.runs_dir={tmp_path / 'runs'}"])
    assert "aesthetic rules skipped" not in capsys.readouterr().out
    kept = [json.loads(line) for line in (tmp_path / "pairs.filtered.jsonl").read_text().splitlines()]
    scorer = AestheticScorer(idiff_tiny_clip, tmp_path / "mlp.safetensors")
    targets = [np.asarray(Image.open(tmp_path / row["target"]).convert("RGB")) for row in kept]
    assert len(kept) == 3 and [row["aesthetic_target"] for row in kept] == pytest.approx(scorer(targets), abs=1e-5)
