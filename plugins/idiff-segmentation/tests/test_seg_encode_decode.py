"""Encoder and decoder: the overlay formula, the instructions, and the round trip under a model's artefacts."""

from __future__ import annotations

import numpy as np
import pytest

from idiff_segmentation.decoding import decode_mask
from idiff_segmentation.encoding import (
    COLOUR_NAMES,
    COLOURS,
    class_phrase,
    colour_rgb,
    contrast_colour,
    encode_mask,
    overlay_mask,
)
from idiff_segmentation.templates import REFERRING_TEMPLATES, SEMANTIC_TEMPLATES, build_instruction

RES = 64


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_overlay_is_half_pixel_half_colour() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
    original = image.copy()
    mask = np.zeros((8, 8), bool)
    mask[2:5, 3:7] = True
    out = overlay_mask(image, mask, "purple")
    expected = np.rint(0.5 * image[mask].astype(float) + 0.5 * np.array([128, 0, 128]))
    np.testing.assert_array_equal(out[mask], expected)
    np.testing.assert_array_equal(out[~mask], image[~mask])
    np.testing.assert_array_equal(image, original)  # the source is not modified


def test_eight_colours_of_the_paper() -> None:
    assert COLOUR_NAMES == ("red", "purple", "blue", "green", "yellow", "white", "black", "gray")
    assert COLOURS["purple"] == (128, 0, 128) and COLOURS["green"] == (0, 128, 0)
    with pytest.raises(ValueError, match="unknown colour 'pink'; known: red, purple"):
        colour_rgb("pink")


def test_templates_and_instructions() -> None:
    for templates in (REFERRING_TEMPLATES, SEMANTIC_TEMPLATES):
        assert len(templates) >= 10 and len(set(templates)) == len(templates)
        assert all("{object}" in t and "{color}" in t for t in templates)
    text = build_instruction("referring", "the red circle on the left", "blue", 0)
    assert text == "Mark the pixels of the red circle on the left in blue and leave the rest unchanged."
    assert class_phrase("sky-other") == "sky" and class_phrase("pool_table") == "pool table"
    with pytest.raises(ValueError, match="referring, semantic"):
        build_instruction("panoptic", "x", "red")


def test_empty_mask_target_is_the_source_and_choices_are_random(scene) -> None:
    image, _ = scene(0, "red")
    rng = np.random.default_rng(0)
    encs = [encode_mask(image, np.zeros((RES, RES), bool), "grass", "semantic", rng) for _ in range(200)]
    assert all(np.array_equal(e.target, image) for e in encs)
    assert {e.colour for e in encs} == set(COLOUR_NAMES)
    assert len({e.template for e in encs}) == len(SEMANTIC_TEMPLATES)
    assert all("grass" in e.instruction and e.colour in e.instruction for e in encs)


def test_contrast_colour_avoids_the_object_colour() -> None:
    image = np.full((16, 16, 3), 250, np.uint8)  # a white object
    mask = np.ones((16, 16), bool)
    chosen = {contrast_colour(image, mask, np.random.default_rng(i)) for i in range(30)}
    assert chosen <= {"black", "green", "red", "blue"} and "black" in chosen  # the 3 farthest (red ties blue)


@pytest.mark.parametrize("colour", COLOUR_NAMES)
def test_round_trip_clean_and_under_artefacts(colour: str, scene, artefacts) -> None:
    for seed in range(3):
        image, mask = scene(seed, colour)
        target = overlay_mask(image, mask, colour)
        assert iou(decode_mask(target, image, colour), mask) >= 0.99, (colour, seed, "clean")
        for name in ("blur", "noise", "jpeg", "tint"):
            artefact = artefacts[name]
            got = iou(decode_mask(artefact(target), image, colour), mask)
            assert got >= 0.9, (colour, seed, name, got)
        for alpha in (0.4, 0.6):
            got = iou(decode_mask(overlay_mask(image, mask, colour, alpha), image, colour), mask)
            assert got >= 0.9, (colour, seed, alpha, got)


@pytest.mark.parametrize("colour", COLOUR_NAMES)
def test_unchanged_image_decodes_to_nothing(colour: str, scene, artefacts) -> None:
    image, _ = scene(4, colour)
    for generated in (image, *(artefacts[name](image) for name in ("blur", "noise", "jpeg", "tint"))):
        assert decode_mask(generated, image, colour).sum() <= 0.01 * RES * RES


def test_decoder_rejects_mismatched_sizes() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        decode_mask(np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8), "red")
