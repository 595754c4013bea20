"""Original SD single-file checkpoints: written from tiny models, read back by idiff and by diffusers itself."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from diffusers import AutoencoderKL, StableDiffusionInstructPix2PixPipeline, UNet2DConditionModel
from diffusers.loaders.single_file_utils import (
    CHECKPOINT_KEY_NAMES,
    LDM_UNET_KEY,
    convert_ldm_unet_checkpoint,
    convert_ldm_vae_checkpoint,
    infer_diffusers_model_type,
)
from omegaconf import OmegaConf
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel

from idiff.checkpoints import ema_unet
from idiff.cli import compose_config
from idiff.errors import ConfigError
from idiff.export import export_original, export_pipeline
from idiff.module import DiffusionModule
from idiff.original_format import to_original_state_dict
from idiff.pretrained import PretrainedSource

PROMPT = "Circle the nose of the people with the color red, "


def write_config_folder(folder, unet, vae, text_encoder, tokenizer):
    """A diffusers folder with the components' configs and tokenizer only (no weights)."""
    unet.save_config(folder / "unet")
    vae.save_config(folder / "vae")
    text_encoder.config.save_pretrained(folder / "text_encoder")
    tokenizer.save_pretrained(folder / "tokenizer")
    return folder


@pytest.fixture
def config_folder(tmp_path, vae_module):
    m = vae_module
    return write_config_folder(tmp_path / "configs", m.unet, m.codec.vae, m.text_encoder, m.tokenizer)


def assert_same_weights(expected: torch.nn.Module, loaded: torch.nn.Module) -> None:
    a, b = expected.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_original_checkpoint_written_from_a_tiny_model_loads_back_equal(vae_module, config_folder, tmp_path, suffix):
    path = export_original(vae_module, tmp_path / f"model{suffix}")
    source = PretrainedSource(path, config_folder)
    assert_same_weights(ema_unet(vae_module), source.load("unet", UNet2DConditionModel))
    assert_same_weights(vae_module.codec.vae, source.load("vae", AutoencoderKL))
    assert_same_weights(vae_module.text_encoder, source.load("text_encoder", CLIPTextModel))


def test_a_training_checkpoint_gives_its_ema_unet_under_a_text_to_image_config(vae_module, config_folder, tmp_path):
    """CompVis training files hold the raw UNet and its EMA (``model_ema.`` + the name without dots): EMA wins.

    The config folder is SD-1.5-like (4 input channels); the input width comes from the file.
    """
    ema = ema_unet(vae_module)
    state = to_original_state_dict(vae_module.unet, vae_module.codec.vae, vae_module.text_encoder)
    for key, value in to_original_state_dict(ema, vae_module.codec.vae, vae_module.text_encoder).items():
        if key.startswith(LDM_UNET_KEY):
            state["model_ema." + "".join(key.split(".")[1:])] = value
    torch.save({"state_dict": state, "global_step": 22000}, tmp_path / "train.ckpt")
    UNet2DConditionModel.from_config(ema.config, in_channels=4).save_config(config_folder / "unet")
    loaded = PretrainedSource(tmp_path / "train.ckpt", config_folder).load("unet", UNet2DConditionModel)
    assert loaded.config.in_channels == 8
    assert_same_weights(ema, loaded)


def test_diffusers_from_single_file_reads_the_export_and_gives_our_image(vae_module, tmp_path):
    path = export_original(vae_module, tmp_path / "model.safetensors")
    pipeline_folder = export_pipeline(vae_module, tmp_path / "pipeline")
    for weights in pipeline_folder.glob("*/*.safetensors"):
        weights.unlink()  # only configs and tokenizer remain: the weights must come from the single file
    pipe = StableDiffusionInstructPix2PixPipeline.from_single_file(str(path), config=str(pipeline_folder),
                                                                   local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    source = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    theirs = pipe(PROMPT, image=source, num_inference_steps=2, guidance_scale=7.5, image_guidance_scale=1.5,
                  generator=torch.Generator().manual_seed(0), output_type="pt").images
    vae_module.use_ema_weights()
    ours = vae_module.generate(source, [PROMPT], 7.5, 1.5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(ours / 2 + 0.5, theirs, atol=1e-5, rtol=1e-4)


def sd15_module(path, config, resolution=32) -> DiffusionModule:
    overrides = ["experiment=paper", f"model.pretrained_path={path}", f"model.resolution={resolution}"]
    if config is not None:
        overrides.append(f"model.pretrained_config={config}")
    cfg = compose_config("fit", overrides)
    return DiffusionModule(**{k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage", "sampler")})


def test_a_text_to_image_checkpoint_starts_the_editing_model_widened(vae_module, make_tiny_unet, tmp_path):
    """A 4-channel original SD file: conv_in gets 4 zero source channels, so the output ignores what they carry."""
    unet4 = make_tiny_unet(in_channels=4).eval()
    vae, text_encoder = vae_module.codec.vae, vae_module.text_encoder
    save_file(to_original_state_dict(unet4, vae, text_encoder), tmp_path / "sd.safetensors")
    configs = write_config_folder(tmp_path / "configs", unet4, vae, text_encoder, vae_module.tokenizer)

    module = sd15_module(tmp_path / "sd.safetensors", configs)
    assert module.unet.config.in_channels == 8
    assert torch.count_nonzero(module.unet.conv_in.weight[:, 4:]) == 0
    z, text = torch.randn(2, 4, 16, 16), torch.randn(2, 77, 32)
    source = torch.randn(2, 4, 16, 16) * 3  # anything: zero weights make it irrelevant
    with torch.no_grad():
        before = unet4(z, 500, encoder_hidden_states=text).sample
        after = module.unet(torch.cat([z, source], 1), 500, encoder_hidden_states=text).sample
    assert torch.equal(after, before)


@pytest.mark.parametrize("in_channels, model_type", [(4, "v1"), (8, "instruct-pix2pix")])
def test_sd15_sized_export_has_the_layout_diffusers_recognises(in_channels, model_type):
    """SD 1.5's architecture (on the meta device: names and shapes only) maps to the names diffusers expects."""
    with torch.device("meta"):
        unet = UNet2DConditionModel(in_channels=in_channels, cross_attention_dim=768)  # defaults are SD 1.x's
        vae = AutoencoderKL(
            block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        )
        text_encoder = CLIPTextModel(CLIPTextConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12))
    checkpoint = to_original_state_dict(unet, vae, text_encoder)
    assert CHECKPOINT_KEY_NAMES["v1"] in checkpoint and CHECKPOINT_KEY_NAMES["clip"] in checkpoint
    samplers = {k.removeprefix(LDM_UNET_KEY) for k in checkpoint if k.endswith((".op.weight", "conv.weight"))
                and "_blocks." in k and "layers" not in k and "skip" not in k}
    assert samplers == {  # the down / up samplers of SD 1.x files (the names checkpoint-type detectors look for)
        "input_blocks.3.0.op.weight", "input_blocks.6.0.op.weight", "input_blocks.9.0.op.weight",
        "output_blocks.2.1.conv.weight", "output_blocks.5.2.conv.weight", "output_blocks.8.2.conv.weight",
    }
    assert checkpoint["first_stage_model.encoder.mid.attn_1.q.weight"].shape == (512, 512, 1, 1)  # a 1x1 conv there
    assert infer_diffusers_model_type(checkpoint) == model_type
    assert convert_ldm_unet_checkpoint(checkpoint, unet.config).keys() == unet.state_dict().keys()
    assert convert_ldm_vae_checkpoint(checkpoint, vae.config).keys() == vae.state_dict().keys()


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_bad_single_files_are_named_in_one_line(vae_module, config_folder, tmp_path):
    good = export_original(vae_module, tmp_path / "model.safetensors")
    with pytest.raises(ConfigError, match="is a single file; set model.pretrained_config"):
        sd15_module(good, None)
    with pytest.raises(ConfigError, match="does not exist"):
        sd15_module(tmp_path / "missing.safetensors", config_folder)

    evil = tmp_path / "evil.ckpt"
    with open(evil, "wb") as handle:
        pickle.dump({"state_dict": {"w": Exploit()}}, handle, protocol=2)
    with pytest.raises(ConfigError, match=r"evil\.ckpt: cannot read as a weights-only checkpoint"):
        sd15_module(evil, config_folder)

    (config_folder / "unet" / "config.json").unlink()
    with pytest.raises(ConfigError, match=r"model.pretrained_config: .*unet/config\.json is missing"):
        PretrainedSource(good, config_folder).load("unet", UNet2DConditionModel)

    wider = UNet2DConditionModel.from_config(vae_module.unet.config, block_out_channels=(64, 64))
    wider.save_config(config_folder / "unet")
    with pytest.raises(ConfigError, match="its unet does not match model.pretrained_config"):
        PretrainedSource(good, config_folder).load("unet", UNet2DConditionModel)

    no_vae = tmp_path / "no_vae.safetensors"
    state = to_original_state_dict(vae_module.unet, vae_module.codec.vae, vae_module.text_encoder)
    save_file({k: v for k, v in state.items() if not k.startswith("first_stage_model.")}, no_vae)
    with pytest.raises(ConfigError, match="holds no vae weights"):
        PretrainedSource(no_vae, config_folder).load("vae", AutoencoderKL)
