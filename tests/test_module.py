"""The LightningModule: loss goes down on a fixed batch, conditioning dropout rates, conv_in widening, EMA."""

from __future__ import annotations

import re

import pytest
import torch
from diffusers import UNet2DConditionModel

from idiff.diffusion.conditioning import ConditioningDropout
from idiff.diffusion.unet import unet_conditioning, widen_conv_in
from idiff.errors import ConfigError, TrainingError


@pytest.mark.parametrize(
    ("prediction", "preconditioning", "zero_init"),
    [("epsilon", "null", "false"), ("v_prediction", "null", "false"), ("sample", "null", "false"),
     ("sample", "edm", "true")],  # the last: EDM preconditioning of a zero-initialised UNet
)
def test_a_few_optimisation_steps_reduce_the_loss_on_a_fixed_batch(make_module, prediction, preconditioning, zero_init):
    weighting = "stage.snr_gamma=null" if preconditioning == "edm" else "stage.snr_gamma=5.0"
    module = make_module(f"model.noise_schedule.prediction_type={prediction}", weighting,
                         f"model.preconditioning={preconditioning}", f"model.zero_init_residuals={zero_init}")
    module.dropout = ConditioningDropout(0.0, 0.0, 0.0)
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=2e-3)
    generator = torch.Generator().manual_seed(0)
    source = torch.rand(4, 3, 32, 32, generator=generator) * 2 - 1
    target = source.clone()
    target[:, 0, 10:16, 10:16] = 1.0  # a red-ish patch: "the edit"
    instructions = ["Mark the square in red"] * 4

    def loss_at_fixed_noise() -> float:
        torch.manual_seed(123)
        with torch.no_grad():
            return float(module.diffusion_loss(source, target, instructions))

    before = loss_at_fixed_noise()
    for step in range(30):
        torch.manual_seed(step)
        loss = module.diffusion_loss(source, target, instructions)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss_at_fixed_noise() < 0.7 * before


@pytest.mark.parametrize(
    ("dropout", "text", "image", "both"),
    [(ConditioningDropout(0.075, 0.075, 0.0), 0.075, 0.075, 0.0), (ConditioningDropout.preset("instruct_pix2pix"),
                                                                    0.05, 0.05, 0.05)],
)
def test_conditioning_dropout_rates(dropout, text, image, both):
    drop_text, drop_image = dropout.sample(200_000, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert float((drop_text & ~drop_image).float().mean()) == pytest.approx(text, abs=0.003)
    assert float((drop_image & ~drop_text).float().mean()) == pytest.approx(image, abs=0.003)
    assert float((drop_text & drop_image).float().mean()) == pytest.approx(both, abs=0.003)


def test_widened_conv_in_keeps_the_text_to_image_output_when_new_channels_are_zero():
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, attention_head_dim=8, norm_num_groups=32,
    ).eval()
    z, text = torch.randn(2, 4, 8, 8), torch.randn(2, 5, 16)
    with torch.no_grad():
        before = unet(z, 10, encoder_hidden_states=text).sample
        widen_conv_in(unet, 8)
        after = unet(torch.cat([z, torch.zeros_like(z)], 1), 10, encoder_hidden_states=text).sample
    assert unet.config.in_channels == 8
    torch.testing.assert_close(after, before)


def test_pooled_instruction_embedding_reaches_a_projection_class_embedding(make_module):
    """With class_embed_type=projection the last token state is the class label: it changes the output."""
    plain = make_module()
    assert set(unet_conditioning(plain.unet, torch.zeros(2, 77, 32))) == {"encoder_hidden_states"}
    module = make_module("+model.unet.class_embed_type=projection")
    assert module.unet.config.projection_class_embeddings_input_dim == module.text_encoder.config.hidden_size
    text = module.encode_text(["Mark the left wrist in red", "Mark the left wrist in red"])
    kwargs = unet_conditioning(module.unet, text)
    torch.testing.assert_close(kwargs["class_labels"], text[:, -1])
    z = torch.randn(1, 2 * module.codec.latent_channels, 16, 16).expand(2, -1, -1, -1)
    changed = text.clone()
    changed[1, -1] += 1.0  # only the pooled state differs between the two rows
    with torch.no_grad():
        out = module.unet(z, 500, **unet_conditioning(module.unet, changed)).sample
    assert not torch.allclose(out[0], out[1])


def test_mask_padding_makes_the_unet_blind_to_padding_tokens(make_module):
    """With model.mask_padding, changing the states at padding positions leaves the prediction unchanged."""
    module = make_module("model.mask_padding=true").eval()
    instructions = ["Circle the nose in red", "Mark the left ankle in blue"]
    text, mask = module.encode_text(instructions), module.text_mask(instructions)
    assert mask.shape == text.shape[:2] and mask[:, 0].all() and not mask[:, -1].any()
    assert mask.sum(1).tolist() == [int(n) + 2 for n in (5, 6)]  # start + words + end token
    noisy = text.clone()
    noisy[~mask] += torch.randn_like(noisy[~mask])
    z = torch.randn(2, 2 * module.codec.latent_channels, 16, 16)
    with torch.no_grad():
        masked = [module.unet(z, 500, **unet_conditioning(module.unet, t, mask)).sample for t in (text, noisy)]
        unmasked = [module.unet(z, 500, **unet_conditioning(module.unet, t)).sample for t in (text, noisy)]
    torch.testing.assert_close(masked[0], masked[1])
    assert not torch.allclose(unmasked[0], unmasked[1])


def test_ema_tracks_the_unet_only_and_lands_in_the_checkpoint(make_module):
    module = make_module()
    assert module.ema is not None
    unet_params = sum(p.numel() for p in module.unet.parameters())
    assert sum(p.numel() for p in module.ema.shadow_params) == unet_params
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    assert "ema" in checkpoint


def test_a_non_finite_loss_stops_training_naming_the_step_and_batch(make_module):
    module = make_module()
    source = torch.zeros(2, 3, 32, 32)
    target = source.clone()
    target[1, 0, 0, 0] = float("nan")  # one corrupt pixel in the batch
    batch = {"source": source, "target": target, "instruction": ["Circle the nose in red.", "Circle the hip in red."]}
    with pytest.raises(TrainingError, match=r"loss is nan at global step 0 \(batch 7 .*'Circle the nose in red\.'"):
        module.training_step(batch, 7)


class _FixedPrediction(torch.nn.Module):
    """Stands in for the UNet: predicts ``value`` whatever its input (keeps the real UNet's config)."""

    def __init__(self, unet: UNet2DConditionModel, value: torch.Tensor) -> None:
        super().__init__()
        self.config, self.dtype, self.value = unet.config, unet.dtype, value

    def forward(self, sample: torch.Tensor, *args, return_dict: bool = True, **kwargs):
        value = self.value.repeat(sample.shape[0] // self.value.shape[0], 1, 1, 1)  # the guidance batch is 3 copies
        return type("Output", (), {"sample": value}) if return_dict else (value,)


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_residual_scale_scales_the_diffused_edit_and_generation_undoes_it(make_module, scale):
    """With model.residual the x0 objective is (target - source) x residual_scale; sampling divides it back out."""
    module = make_module("model.noise_schedule.prediction_type=sample", "stage.snr_gamma=null",
                         f"model.residual_scale={scale}").eval()
    generator = torch.Generator().manual_seed(0)
    source = torch.rand(2, 3, 32, 32, generator=generator) * 1.6 - 0.8
    edit = torch.rand(2, 3, 32, 32, generator=generator) * 0.4 - 0.2
    instructions = ["Remove the noise.", "Sharpen the image."]
    scaled_edit = module.codec.encode_target(edit) * scale  # the space-to-depth codec is linear and exact
    unet = module.unet
    module.unet = _FixedPrediction(unet, scaled_edit)
    with torch.no_grad():
        assert float(module.diffusion_loss(source, source + edit, instructions)) < 1e-10
        assert float(module.diffusion_loss(source, source + edit * 2, instructions)) > 1e-3
        generated = module.generate(source, instructions, 1.0, 1.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(generated, source + edit, atol=1e-5, rtol=0)


def test_residual_scale_must_be_positive(make_module):
    with pytest.raises(ConfigError, match="model.residual_scale=0.0"):
        make_module("model.residual_scale=0")


@pytest.mark.parametrize(
    ("override", "message"),
    [("model.output_norm=maybe", "model.output_norm='maybe'"), ("model.residual=1", "model.residual=1"),
     ("stage.train_text_encoder=yes please", "stage.train_text_encoder='yes please'")],
)
def test_a_switch_that_is_not_true_or_false_names_its_key(make_module, override, message):
    # bool() would take any of these as true and run silently with the opposite of what was meant
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}: must be true or false$"):
        make_module(override)


@pytest.mark.parametrize("residual", [True, False])
def test_partial_strength_starts_from_the_unchanged_source(make_module, residual):
    """sampler.strength < 1 starts from "no change" (a zero edit, or the source latent) noised part-way.

    A model that always predicts "no change" must then give back the source exactly, whatever the noise, after
    the last 4 of 10 steps.
    """
    module = make_module("model.noise_schedule.prediction_type=sample", f"model.residual={residual}",
                         "sampler.num_steps=10", "sampler.strength=0.4").eval()
    source = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
    unchanged = module.to_diffused(module.codec.encode_target(source), module.codec.encode_source(source))
    module.unet = _FixedPrediction(module.unet, unchanged)
    calls = []
    module.unet.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        generated = module.generate(source, ["Sharpen the image."] * 2, 1.0, 1.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(generated, source, atol=1e-5, rtol=0)
    assert len(calls) == 4


def test_trimming_the_padding_changes_neither_the_loss_nor_the_samples(make_module):
    """With the padding masked out, each batch is encoded only up to its longest instruction: the same numbers."""
    module = make_module("model.mask_padding=true", "stage.dropout.text_only=0.5", "sampler.num_steps=2").eval()
    instructions = ["Circle the nose in red", "Sharpen this blurry image, please.", "Mark the sky", "Denoise it"]
    states, tokens = module.instruction_states(instructions)
    longest = max(len(module.tokenizer(i).input_ids) for i in instructions)
    assert module.trim_padding and states.shape[1] == tokens.shape[1] == longest < 77
    torch.manual_seed(0)
    source, target = torch.rand(2, 4, 3, 64, 64) * 2 - 1
    draws = torch.arange(4)  # keyed draws: both runs see the same noise, timesteps and dropout (some text dropped)
    assert module.dropout.text_only == 0.5
    trimmed = module.diffusion_loss(source, target, instructions, draws)
    samples = module.generate(source, instructions, 3.0, 1.5, torch.Generator().manual_seed(1))
    module.trim_padding = False
    assert module.instruction_states(instructions)[0].shape[1] == 77
    torch.testing.assert_close(trimmed, module.diffusion_loss(source, target, instructions, draws))
    again = module.generate(source, instructions, 3.0, 1.5, torch.Generator().manual_seed(1))
    torch.testing.assert_close(samples, again, atol=1e-4, rtol=0)  # float rounding of other matrix shapes: ~3e-5


def test_the_padding_is_kept_where_a_class_embedding_reads_its_last_position(make_module):
    module = make_module("model.mask_padding=true", "+model.unet.class_embed_type=projection")
    assert not module.trim_padding
    assert module.instruction_states(["Circle the nose in red"])[0].shape[1] == 77
