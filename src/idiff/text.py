"""Instruction encoding: the CLIP tokenizer and text encoder of Stable Diffusion 1.x.

SD 1.x conditions on CLIP ViT-L/14 text features (PAPER.md "Model and training"). Offline, the tokenizer is
rebuilt from the byte-pair vocabulary that ships inside the ``open_clip_torch`` wheel
(``bpe_simple_vocab_16e6.txt.gz``, the file OpenAI's CLIP reads), following OpenAI's ``SimpleTokenizer``: the
same 49,408 tokens in the same order, hence the same ids as ``openai/clip-vit-large-patch14``'s tokenizer.
The embedded default uses a small randomly initialised :class:`~transformers.CLIPTextModel`; real weights come
from a local diffusers folder (``text_encoder/`` and ``tokenizer/``) or an original SD file (:mod:`idiff.pretrained`).
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

import torch
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from idiff.errors import ConfigError
from idiff.pretrained import PretrainedSource, as_pretrained_source

__all__ = [
    "build_text_encoder",
    "build_tokenizer",
    "clip_bpe_vocabulary",
    "encode_instructions",
    "instruction_mask",
    "tokenize_instructions",
]

CLIP_CONTEXT_LENGTH = 77
_BPE_MERGES = 49152 - 256 - 2  # merges OpenAI's SimpleTokenizer keeps


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP reversible byte -> printable unicode mapping."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


@lru_cache(maxsize=1)
def clip_bpe_vocabulary() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The CLIP vocabulary (token -> id) and merges, rebuilt from the BPE file in ``open_clip_torch``."""
    try:
        source = resources.files("open_clip").joinpath("bpe_simple_vocab_16e6.txt.gz")
        raw = gzip.decompress(source.read_bytes()).decode("utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise ConfigError(
            "the CLIP BPE vocabulary ships with open_clip_torch; install it (pip install open-clip-torch) "
            "or point model.pretrained_path at a diffusers folder with a tokenizer/"
        ) from err
    merges = [tuple(line.split()) for line in raw.split("\n")[1 : _BPE_MERGES + 1]]
    tokens = list(_bytes_to_unicode().values())
    tokens = tokens + [t + "</w>" for t in tokens] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(tokens)}, merges


def build_tokenizer(pretrained_path: str | PretrainedSource | None = None) -> CLIPTokenizer:
    """A CLIP tokenizer: the pretrained source's ``tokenizer/`` when given, else from the bundled BPE vocabulary."""
    source = as_pretrained_source(pretrained_path)
    if source is not None:
        return source.load("tokenizer", CLIPTokenizer)
    vocab, merges = clip_bpe_vocabulary()
    tokenizer = CLIPTokenizer(vocab=dict(vocab), merges=list(merges))
    tokenizer.model_max_length = CLIP_CONTEXT_LENGTH
    return tokenizer


def build_text_encoder(
    pretrained_path: str | PretrainedSource | None = None,
    hidden_size: int = 64,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    intermediate_size: int = 128,
    token_embedding_std: float | None = None,
    seed: int = 0,
) -> CLIPTextModel:
    """A CLIP text encoder: the pretrained source's (folder or single file) when given, else a small random one.

    ``token_embedding_std`` (random encoders only) re-initialises the token embeddings with this standard
    deviation. CLIP's own initialisation (0.02) lets the first attention layer's output swamp each token's
    identity: at a joint name's position, "nose" and "right ankle" instructions then have hidden states with
    cosine similarity 0.93-0.95, so the UNet can hardly tell them apart; at 1.0 they are 0.0-0.4 apart
    (docs/architecture.md, "Where the default stands").
    """
    source = as_pretrained_source(pretrained_path)
    if source is not None:
        return source.load("text_encoder", CLIPTextModel)
    vocab, _ = clip_bpe_vocabulary()
    config = CLIPTextConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        max_position_embeddings=CLIP_CONTEXT_LENGTH,
        bos_token_id=vocab["<|startoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = CLIPTextModel(config)
        if token_embedding_std is not None:
            torch.nn.init.normal_(model.get_input_embeddings().weight, std=token_embedding_std)
    return model


def _tokenize(tokenizer: CLIPTokenizer, instructions: list[str]):
    """Token ids and attention mask, padded to the CLIP context (as SD does)."""
    return tokenizer(
        instructions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    )


def tokenize_instructions(
    tokenizer: CLIPTokenizer, instructions: list[str], trim: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (B, L) and the mask of the instructions' own tokens (B, L, bool; see :func:`instruction_mask`).

    L is the CLIP context (77), as SD pads; with ``trim``, the longest instruction's own length. Trimming changes
    nothing where the padding is masked out of cross-attention (``model.mask_padding``): CLIP's text encoder is
    causal, so the states of an instruction's tokens do not depend on the padding after them, and the UNet's
    cross-attention gives masked positions zero weight. It only saves the padding's share of the text encoder and
    of every cross-attention (docs/architecture.md, "Trimming the padding").
    """
    tokens = _tokenize(tokenizer, instructions)
    ids, mask = tokens.input_ids, tokens.attention_mask.to(torch.bool)
    if trim:
        length = int(mask.sum(1).max())
        ids, mask = ids[:, :length], mask[:, :length]
    return ids, mask


def instruction_mask(tokenizer: CLIPTokenizer, instructions: list[str], device: torch.device) -> torch.Tensor:
    """(B, 77) bool: True at the instruction's own tokens (start, words, first end token), False at padding.

    Passed to the UNet as ``encoder_attention_mask`` when ``model.mask_padding`` is set, so cross-attention
    spreads over the dozen tokens of an instruction rather than over 77 positions that are mostly padding.
    """
    return tokenize_instructions(tokenizer, instructions)[1].to(device)


def encode_instructions(
    tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, instructions: list[str], device: torch.device
) -> torch.Tensor:
    """Last hidden states of the text encoder for each instruction, padded to the CLIP context (as SD does)."""
    return text_encoder(tokenize_instructions(tokenizer, instructions)[0].to(device))[0]
