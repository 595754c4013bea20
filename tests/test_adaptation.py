"""Stage 1, pretraining adaptation: marks against scikit-image, captions, draw-keyed samples, and the hand-off."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from skimage.draw import disk, ellipse

from idiff.adaptation.captions import CAPTION_TEMPLATES, read_coco_captions
from idiff.adaptation.dataset import AdaptationData
from idiff.adaptation.marks import (
    CIRCLE_COLOURS,
    PATCHES_SUFFIX,
    draw_circle,
    draw_patches,
    mark_image,
    validate_mark_probabilities,
)
from idiff.checkpoints import init_weights, load_module
from idiff.cli import main
from idiff.data.mixture import TaskMixture
from idiff.errors import ConfigError, DataError
from idiff.module import DiffusionModule
from idiff.testing.pytest_plugin import TINY_OVERRIDES


def test_circle_is_the_ring_between_two_scikit_image_disks():
    image = np.zeros((48, 48, 3), np.uint8)
    center, radius, thickness = (20.3, 25.7), 11.4, 2.6  # (x, y); non-integers: no pixel on a boundary
    marked = draw_circle(image, center, radius, thickness, (255, 0, 0))
    outer = np.zeros((48, 48), bool)
    outer[disk((center[1], center[0]), radius + thickness / 2, shape=(48, 48))] = True
    inner = np.zeros((48, 48), bool)
    inner[disk((center[1], center[0]), radius - thickness / 2, shape=(48, 48))] = True
    np.testing.assert_array_equal(marked[..., 0] == 255, outer & ~inner)
    assert image.max() == 0  # the input is untouched


def test_patches_blend_at_one_half_inside_scikit_image_shapes():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    boxes = np.array([[3.2, 5.1, 17.7, 14.3], [20.4, 22.6, 35.9, 38.2]])
    marked = draw_patches(image, boxes, np.array([True, False]), [(0, 0, 255), (255, 255, 0)])
    inside = np.zeros((40, 40), bool)
    inside[ellipse((5.1 + 14.3) / 2, (3.2 + 17.7) / 2, (14.3 - 5.1) / 2, (17.7 - 3.2) / 2, shape=(40, 40))] = True
    expected = np.round(0.5 * image[inside] + 0.5 * np.array([0, 0, 255])).astype(np.uint8)
    np.testing.assert_array_equal(marked[inside], expected)
    box = np.zeros((40, 40), bool)
    box[23:39, 21:36] = True  # pixel centres inside [20.4, 35.9) x [22.6, 38.2)
    np.testing.assert_array_equal(marked[box], np.round(0.5 * image[box] + 0.5 * np.array([255, 255, 0])))
    np.testing.assert_array_equal(marked[~(inside | box)], image[~(inside | box)])


def test_marks_follow_their_probabilities_and_name_themselves_in_the_caption():
    rng = np.random.default_rng(0)
    probabilities = validate_mark_probabilities({"circle": 2, "patches": 1, "none": 1})
    image = np.full((16, 16, 3), 60, np.uint8)
    marked = [mark_image(image, probabilities, rng) for _ in range(2000)]
    kinds = [m.kind for m in marked]
    assert kinds.count("circle") / 2000 == pytest.approx(0.5, abs=0.04)
    assert kinds.count("patches") / 2000 == pytest.approx(0.25, abs=0.04)
    for m in marked[:50]:
        caption = m.caption("A dog on the grass.")
        match m.kind:
            case "circle":
                colour = caption.split("surrounded with a ")[1].removesuffix(" circle")
                assert caption == f"A dog on the grass, surrounded with a {colour} circle"
                assert (m.image == CIRCLE_COLOURS[colour]).all(-1).any()
            case "patches":
                assert caption == f"A dog on the grass, {PATCHES_SUFFIX}"
                assert (m.image != image).any()
            case "none":
                assert caption == "A dog on the grass" and (m.image == image).all()
    with pytest.raises(ConfigError, match="stage.marks: unknown kind"):
        validate_mark_probabilities({"squares": 1.0})


def test_coco_captions_are_read_and_bad_files_named(captioned_folder, tmp_path):
    _, captions = captioned_folder
    by_name = read_coco_captions(captions)
    assert by_name["000000000003.png"] == ["picture 3 variant 0.", "picture 3 variant 1."]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.png"}], "annotations": [{"image_id": 2,
                                                                                          "caption": "x"}]}))
    with pytest.raises(DataError, match=r"bad.json: annotations\[0\].image_id=2 is not in 'images'"):
        read_coco_captions(bad)
    bad.write_text("{")
    with pytest.raises(DataError, match="bad.json: not valid JSON"):
        read_coco_captions(bad)


def test_a_sample_is_a_function_of_its_draw(captioned_folder):
    folder, captions = captioned_folder
    marks = {"circle": 0.5, "patches": 0.5, "none": 0.0}
    data = AdaptationData(str(folder), str(captions), marks, resolution=32, seed=0)
    mixture = TaskMixture({"pretrain_adaptation": data.train_dataset()}, {"pretrain_adaptation": 1.0})
    first, again, other = mixture[(3, 17)], mixture[(3, 17)], mixture[(3, 18)]
    assert first.draw == 17 and first.sample.instruction == again.sample.instruction
    np.testing.assert_array_equal(first.sample.target, again.sample.target)
    assert first.sample.instruction.startswith("picture 3 variant ")
    assert (first.sample.target != other.sample.target).any() or first.sample.instruction != other.sample.instruction
    assert first.sample.target.shape == (32, 32, 3)
    bare = AdaptationData(str(folder), None, marks, resolution=32).train_dataset()[0]
    assert bare.instruction.split(",")[0] in CAPTION_TEMPLATES


def _module(idiff_config, *overrides: str) -> DiffusionModule:
    cfg = idiff_config("fit", *overrides)
    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")}
    return DiffusionModule(**plain, seed=0)


def test_handing_stage_1_weights_to_stage_2_widens_conv_in_with_zeros(idiff_config, tmp_path):
    adaptation = _module(idiff_config, "stage=pretrain_adaptation")
    latent = adaptation.codec.latent_channels
    assert adaptation.unet.config.in_channels == latent
    loss = adaptation.diffusion_loss(torch.zeros(2, 3, 32, 32), torch.zeros(2, 3, 32, 32), ["a photo", "a photo"])
    assert torch.isfinite(loss)
    with torch.no_grad():  # an EMA that differs from the raw weights: the hand-off must take the EMA
        for shadow in adaptation.ema.shadow_params:
            shadow.add_(0.01)
    path = tmp_path / "adaptation.ckpt"
    torch.save({"state_dict": adaptation.state_dict(), "hyper_parameters": dict(adaptation.hparams),
                "ema": adaptation.ema.state_dict()}, path)
    editing = _module(idiff_config, "stage=task_specific")
    init_weights(editing, path)
    reference = load_module(path)
    reference.use_ema_weights()
    weight = editing.unet.conv_in.weight
    assert weight.shape[1] == 2 * latent
    torch.testing.assert_close(weight[:, :latent], reference.unet.conv_in.weight)
    assert not weight[:, latent:].any()
    for name, value in reference.unet.state_dict().items():
        if not name.startswith("conv_in.weight"):
            torch.testing.assert_close(editing.unet.state_dict()[name], value, msg=name)
    with pytest.raises(ConfigError, match="text-to-image checkpoint"):
        reference.generate(torch.zeros(1, 3, 32, 32), ["x"], 5.0, 1.0)


def test_stage_1_then_stage_2_through_the_cli(tmp_path, monkeypatch):
    """A few steps of each stage; stage 2 starts from stage 1's checkpoint (images: the tasks' own)."""
    monkeypatch.chdir(tmp_path)
    common = [*TINY_OVERRIDES, "task.synthetic_train_images=8", "task.synthetic_val_images=2",
              "~data.mixture", "+data.mixture={keypoints: 1.0}"]
    main(["fit", *common, "stage=pretrain_adaptation", "trainer.accumulate_grad_batches=2",
          "stage.gradient_checkpointing=true", "trainer.precision=bf16-mixed"])
    (first,) = tmp_path.glob("runs/fit/*/checkpoints/last.ckpt")
    stage_1 = load_module(first)
    assert stage_1.text_to_image and stage_1.unet.config.in_channels == stage_1.codec.latent_channels
    assert torch.load(first, weights_only=True)["global_step"] == 2
    main(["fit", *common, "stage=task_specific", f"init_weights={first}"])
    second = max(tmp_path.glob("runs/fit/*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    stage_2 = load_module(second)
    assert second != first and not stage_2.text_to_image
    assert stage_2.unet.config.in_channels == 2 * stage_1.codec.latent_channels
