"""``idiff predict`` on a checkpoint of a 2-step fit: output sets, the field's formats, guidance, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools.coco import COCO

from idiff.cli import main
from idiff.testing.pytest_plugin import TINY_OVERRIDES


@pytest.fixture
def photos(tmp_path):
    """Two photos of different shapes, as a user's folder holds them."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 70, 3), dtype=np.uint8)).save(folder / "wide.png")
    Image.fromarray(rng.integers(0, 255, (90, 50, 3), dtype=np.uint8)).save(folder / "tall.jpg")
    return folder


@pytest.fixture
def run(tmp_path, monkeypatch, fitted_checkpoint, capsys):
    """``idiff predict <args>`` in tmp_path on the fitted checkpoint; returns the run directory."""
    monkeypatch.chdir(tmp_path)

    def predict(*args: str):
        ckpt = [] if any(a.startswith("ckpt=") for a in args) else [f"ckpt={fitted_checkpoint}"]
        main(["predict", *TINY_OVERRIDES, *ckpt, *args])
        (run_dir,) = sorted(tmp_path.glob("runs/predict/*"))[-1:]
        return run_dir

    return predict


def manifest(run_dir):
    return json.loads((run_dir / "predictions.json").read_text())


def test_keypoints_on_a_folder_write_one_output_set_per_image(run, photos):
    run_dir = run(f"input={photos}", "task=keypoints", "request.joints=[nose,left_wrist]",
                  "task.max_keypoints_per_instruction=2")  # both joints in one instruction (the default asks one)
    for name in ("wide", "tall"):
        assert Image.open(run_dir / "predictions" / f"{name}.png").size == (32, 32)
        assert Image.open(run_dir / "overlays" / f"{name}.png").size == (32, 32)
    coco = COCO(str(run_dir / "keypoints.json"))
    images = {i["file_name"]: i for i in coco.loadImgs(coco.getImgIds())}
    assert (images["wide.png"]["width"], images["wide.png"]["height"]) == (70, 40)
    assert (images["tall.jpg"]["width"], images["tall.jpg"]["height"]) == (50, 90)
    for image_id in coco.getImgIds():
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        kp = np.asarray(ann["keypoints"]).reshape(17, 3)
        assert (kp[2:9] == 0).all() and (kp[11:] == 0).all()  # only nose (0) and left_wrist (9) were asked
    assert coco.loadRes(str(run_dir / "keypoints_results.json")).getImgIds() == sorted(coco.getImgIds())
    report = manifest(run_dir)
    assert report["guidance"] == {"text": 6.0, "image": 0.5}  # the paper's keypoint scales
    assert [r["name"] for r in report["requests"]] == ["tall", "wide"]
    assert all("nose" in r["instruction"] and "left wrist" in r["instruction"] for r in report["requests"])


@pytest.mark.slow
def test_segmentation_requests_write_mask_pngs_and_label_maps(run, photos):
    run_dir = run(f"input={photos / 'wide.png'}", "task=referring_segmentation", "request.expression=the left square")
    assert np.asarray(Image.open(run_dir / "masks" / "wide.png")).shape == (40, 70)
    coco = COCO(str(run_dir / "instances.json"))
    assert coco.loadAnns(coco.getAnnIds())[0]["expression"] == "the left square"
    assert manifest(run_dir)["guidance"] == {"text": 7.5, "image": 1.5}

    run_dir = run(f"input={photos / 'tall.jpg'}", "task=semantic_segmentation", "request.classes=[sky,grass]")
    assert np.asarray(Image.open(run_dir / "labels" / "tall.png")).shape == (90, 50)
    assert (run_dir / "labels.txt").read_text().splitlines() == ["0: unlabeled", "1: sky", "2: grass"]
    assert len(manifest(run_dir)["requests"]) == 2  # one instruction per class


def test_a_free_text_edit_from_a_run_directory_uses_the_editing_scales(run, photos, fitted_checkpoint):
    fit_run = fitted_checkpoint.parent.parent  # runs/fit/<time>/, as a user copies it around
    run_dir = run(f"input={photos}/*.png", 'instruction="Make it look like winter, with snow"', f"ckpt={fit_run}")
    assert sorted(p.name for p in (run_dir / "predictions").iterdir()) == ["wide.png"]
    assert not (run_dir / "overlays").exists()  # nothing to decode in a free-text edit
    report = manifest(run_dir)
    assert report["checkpoint"] == str(fitted_checkpoint.resolve())
    assert report["guidance"] == {"text": 5.0, "image": 1.25}
    assert report["requests"][0]["instruction"] == "Make it look like winter, with snow"


def test_guidance_comes_from_the_task_or_the_edit_and_guidance_keys_override():
    from idiff.errors import ConfigError
    from idiff.prediction.requests import guidance_scales
    from idiff.tasks.api import GuidanceScales

    keypoints = GuidanceScales(6.0, 0.5)
    assert guidance_scales({"text": None, "image": None}, keypoints) == keypoints
    assert guidance_scales(None, None) == GuidanceScales(5.0, 1.25)  # PAPER.md "Sampling", editing
    assert guidance_scales({"text": 3, "image": None}, keypoints) == GuidanceScales(3.0, 0.5)
    with pytest.raises(ConfigError, match="guidance scales must be >= 0"):
        guidance_scales({"text": -1}, None)


def test_request_values_are_typed_by_the_tasks_dataclass():
    from idiff_keypoints.prediction import KeypointsRequest

    from idiff.errors import ConfigError
    from idiff.prediction.requests import parse_request

    parsed = parse_request("keypoints", KeypointsRequest, {"joints": "nose, left_wrist", "template": 2})
    assert parsed == KeypointsRequest(joints=["nose", "left_wrist"], colours=[], template=2)
    assert parse_request("keypoints", KeypointsRequest, {}) is None
    with pytest.raises(ConfigError, match=r"request.template \(task 'keypoints'\): Value 'two' of type 'str' could"):
        parse_request("keypoints", KeypointsRequest, {"template": "two"})
    with pytest.raises(ConfigError, match="task 'edit' takes no structured request"):
        parse_request("edit", None, {"joints": ["nose"]})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["instruction=x", "input=photos/broken.png"], "photos/broken.png: cannot read image"),
        (["task=keypoints", "request.joints=[nose,left_wirst]"],
         "request.joints: unknown joint 'left_wirst'; allowed: nose, left_eye, right_eye"),
        (["instruction=x", "ckpt=missing/last.ckpt"], "ckpt=missing/last.ckpt: no such file or folder (allowed: lat"),
        (["instruction=x", "ckpt=photos"], "ckpt=photos: is neither a run directory nor a diffusers folder"),
        (["task=keypoints", "request.joint=nose"], "request.joint: not a field of the request of task 'keypoints'"),
        ([], 'predict needs instruction="..." (a free-text edit) or task=<name> request.<field>=...'),
        (["instruction=x", "task=keypoints", "request.joints=[nose]"], "give either instruction"),
        (["instruction=x", "input=photos/none*.png"], "input=photos/none*.png: no images found"),
    ],
)
def test_bad_inputs_are_one_line_each(run, photos, capsys, args, message):
    (photos / "broken.png").write_bytes(b"\x89PNG not really")
    if not any(a.startswith("input=") for a in args):
        args = [*args, "input=photos/wide.png"]
    with pytest.raises(SystemExit) as exit_info:
        run(*args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.strip()]
    assert line.startswith("idiff: error: ") and message in line, line


@pytest.mark.slow
def test_generation_is_lightnings_predict_loop_image_for_image(idiff_config, fitted_checkpoint):
    import lightning as L

    from idiff.data.datamodule import RequestDataModule
    from idiff.data.mixture import tensor_to_images
    from idiff.prediction.predictor import Predictor
    from idiff.tasks.api import EditRequest, GuidanceScales

    cfg = idiff_config("predict", f"ckpt={fitted_checkpoint}", "data.eval_batch_size=2", "seed=7")
    predictor = Predictor(cfg, progress=False)
    rng = np.random.default_rng(1)
    requests = [EditRequest(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), f"make it {c}")
                for c in ("red", "blue", "green")]
    ours = predictor.generate(requests, GuidanceScales(6.0, 0.5))
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_checkpointing=False)
    batches = trainer.predict(predictor.module, datamodule=RequestDataModule(requests, 6.0, 0.5, 2))
    theirs = [image for batch in batches for image in tensor_to_images(batch)]
    assert len(ours) == 3
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(ours[0], ours[1])


@pytest.mark.slow
def test_a_diffusers_instruct_pix2pix_folder_predicts_like_diffusers(tiny_components, tmp_path, monkeypatch, capsys):
    from diffusers import StableDiffusionInstructPix2PixPipeline

    from idiff.diffusion.sampler import build_inference_scheduler

    c = tiny_components
    folder = tmp_path / "ip2p"
    StableDiffusionInstructPix2PixPipeline(
        vae=c["vae"], text_encoder=c["text_encoder"], tokenizer=c["tokenizer"], unet=c["unet"],
        scheduler=c["scheduler"], safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    ).save_pretrained(folder)
    source = np.random.default_rng(2).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(source).save(tmp_path / "in.png")
    monkeypatch.chdir(tmp_path)
    main(["predict", "model=sd15", f"ckpt={folder}", "model.resolution=32", "input=in.png", "instruction=make it red",
          "sampler.formula=instruct_pix2pix", "sampler.num_steps=3", "guidance.text=7.5", "guidance.image=1.5",
          "seed=1", "trainer.enable_progress_bar=false"])
    (ours,) = tmp_path.glob("runs/predict/*/predictions/in.png")

    pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(folder, local_files_only=True)
    config = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
              "prediction_type": "epsilon", "clip_sample": False}  # model=sd15's noise schedule
    pipe.scheduler = build_inference_scheduler("euler_ancestral", config)
    pipe.set_progress_bar_config(disable=True)
    image = torch.from_numpy(source).permute(2, 0, 1)[None].float() / 127.5 - 1
    expected = pipe("make it red", image=image, num_inference_steps=3, guidance_scale=7.5, image_guidance_scale=1.5,
                    generator=torch.Generator().manual_seed(1 * 100003), output_type="np").images[0]
    difference = np.abs(np.asarray(Image.open(ours), np.float64) / 255 - expected)
    assert difference.max() <= 1 / 255 + 1e-4

    with pytest.raises(SystemExit):  # the tiny model's space-to-depth codec cannot read a diffusers folder
        main(["predict", f"ckpt={folder}", "input=in.png", "instruction=x"])
    assert "a diffusers folder is read with model=sd15" in capsys.readouterr().err
