"""Guidance formulas against hand computation; our sampler against diffusers' InstructPix2Pix pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionInstructPix2PixPipeline

from idiff.codecs import AutoencoderKLCodec
from idiff.diffusion.guidance import combine_guidance, guidance_conditions
from idiff.diffusion.sampler import SCHEDULERS, GuidedSampler, build_inference_scheduler
from idiff.text import encode_instructions


class StubPredictor:
    """e(z, cI, cT) = a*z + b*mean(cI) + c*mean(cT): the three predictions differ in known ways."""

    def __call__(self, z: torch.Tensor, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return 0.5 * z + 2.0 * image.mean() + 3.0 * text.mean()


def test_guidance_formulas_match_hand_computation():
    e = StubPredictor()
    z, ci, ct = torch.ones(1, 4, 2, 2), torch.full((1, 4, 2, 2), 0.25), torch.full((1, 3, 8), 0.5)
    zero_i, zero_t = torch.zeros_like(ci), torch.zeros_like(ct)
    st, si = 7.5, 1.5
    # e(z,cI,cT)=0.5+0.5+1.5=2.5, e(z,cI,0)=1.0, e(z,0,cT)=2.0, e(z,0,0)=0.5
    full, image_only, text_only, uncond = e(z, ci, ct), e(z, ci, zero_t), e(z, zero_i, ct), e(z, zero_i, zero_t)
    ip2p = combine_guidance(full, image_only, uncond, st, si, "instruct_pix2pix")
    assert torch.allclose(ip2p, torch.full_like(z, 0.5 + 7.5 * 1.5 + 1.5 * 0.5))
    ours = combine_guidance(full, image_only, text_only, st, si, "instruct_diffusion")
    assert torch.allclose(ours, torch.full_like(z, 0.5 * (1.0 + 2.0) + 7.5 * 1.5 + 1.5 * 0.5))
    assert guidance_conditions("instruct_diffusion")[2] == (False, True)
    assert guidance_conditions("instruct_pix2pix")[2] == (False, False)
    with pytest.raises(ValueError, match="allowed: instruct_diffusion, instruct_pix2pix"):
        guidance_conditions("cfg")


def test_instruct_diffusion_guidance_with_unit_scales_is_the_full_prediction_plus_half_spread():
    full, image_only, text_only = torch.tensor(3.0), torch.tensor(1.0), torch.tensor(2.0)
    # sT = sI = 0.5 gives 0.5*(eI + eT) + 0.5*(2 e - eI - eT) = e
    assert combine_guidance(full, image_only, text_only, 0.5, 0.5, "instruct_diffusion") == full


@pytest.mark.parametrize("steps", [2, 4])
def test_sampler_reproduces_diffusers_instruct_pix2pix_pipeline(tiny_components, steps):
    c = tiny_components
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=c["vae"], text_encoder=c["text_encoder"], tokenizer=c["tokenizer"], unet=c["unet"],
        scheduler=c["scheduler"], safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32))
    prompt = "Circle the nose of the people with the color red, "
    expected = pipe(prompt, image=image, num_inference_steps=steps, guidance_scale=7.5, image_guidance_scale=1.5,
                    generator=torch.Generator().manual_seed(42), output_type="pt").images

    codec = AutoencoderKLCodec(c["vae"])
    sampler = GuidedSampler(c["unet"], c["scheduler"], "instruct_pix2pix", steps)
    with torch.no_grad():
        text = encode_instructions(c["tokenizer"], c["text_encoder"], [prompt], torch.device("cpu"))
        null = encode_instructions(c["tokenizer"], c["text_encoder"], [""], torch.device("cpu"))
        latents = sampler(codec.encode_source(image), text, null, 7.5, 1.5, 4, torch.Generator().manual_seed(42))
        ours = (codec.decode(latents) / 2 + 0.5).clamp(0, 1)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-4)


class OracleX0UNet(torch.nn.Module):
    """Predicts the same clean sample x0 whatever it is given (an x0-prediction model that is always right)."""

    def __init__(self, x0: torch.Tensor) -> None:
        super().__init__()
        self.x0 = x0

    def forward(self, sample, timestep, encoder_hidden_states=None, return_dict=True):
        return (self.x0.expand(sample.shape[0], -1, -1, -1),)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_sample_prediction_models_reach_their_x0_under_every_scheduler(name):
    # DDIM and DPM-Solver take x0 natively; the Euler schedulers get it as epsilon on their VE latents

    config = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
              "beta_schedule": "scaled_linear", "prediction_type": "sample"}
    x0 = torch.linspace(-1, 1, 4 * 8 * 8).reshape(1, 4, 8, 8)
    sampler = GuidedSampler(OracleX0UNet(x0), build_inference_scheduler(name, config), "instruct_diffusion", 10)
    source, text = torch.zeros(2, 4, 8, 8), torch.zeros(2, 3, 8)
    out = sampler(source, text, text[:1], 5.0, 1.5, 4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x0.expand(2, -1, -1, -1), atol=1e-3, rtol=0)


class RecordingOracle(OracleX0UNet):
    """The oracle above, recording the timesteps and the noisy inputs it is called with."""

    def __init__(self, x0: torch.Tensor) -> None:
        super().__init__(x0)
        self.calls: list[tuple[float, torch.Tensor]] = []

    def forward(self, sample, timestep, encoder_hidden_states=None, return_dict=True):
        self.calls.append((float(timestep), sample.clone()))
        return super().forward(sample, timestep, encoder_hidden_states, return_dict)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_strength_runs_the_last_steps_of_the_schedule_from_the_noised_start(name):
    from diffusers import StableDiffusionImg2ImgPipeline

    from idiff.diffusion.sampler import build_inference_scheduler

    config = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
              "beta_schedule": "scaled_linear", "prediction_type": "sample"}
    x0 = torch.linspace(-1, 1, 4 * 8 * 8).reshape(1, 4, 8, 8)
    start = torch.full((2, 4, 8, 8), 0.25)
    unet = RecordingOracle(x0)
    scheduler = build_inference_scheduler(name, config)
    sampler = GuidedSampler(unet, scheduler, "instruct_diffusion", 10, strength=0.3)
    source, text = torch.zeros(2, 4, 8, 8), torch.zeros(2, 3, 8)
    out = sampler(source, text, text[:1], 5.0, 1.5, 4, torch.Generator().manual_seed(0), init_latents=start)
    torch.testing.assert_close(out, x0.expand(2, -1, -1, -1), atol=1e-3, rtol=0)
    # the timesteps diffusers' img2img pipeline runs for strength 0.3 of 10 steps (its get_timesteps)
    reference = build_inference_scheduler(name, config)
    reference.set_timesteps(10)
    expected, _ = StableDiffusionImg2ImgPipeline.get_timesteps(
        type("P", (), {"scheduler": reference})(), 10, 0.3, "cpu"
    )
    assert [t for t, _ in unet.calls] == [float(t) for t in expected]
    # the first input is the start noised to the first kept timestep by the scheduler's own add_noise
    noise = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    if hasattr(reference, "set_begin_index"):  # Euler schedulers index their sigmas from the first step run
        reference.set_begin_index(len(reference.timesteps) - len(expected))
    first = reference.scale_model_input(reference.add_noise(start, noise, expected[:1].repeat(2)), expected[0])
    torch.testing.assert_close(unet.calls[0][1][:2, :4], first, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("strength", [0.0, -0.5, 1.5])
def test_strength_outside_0_1_is_a_config_error(strength):
    from idiff.errors import ConfigError

    with pytest.raises(ConfigError, match=r"sampler.strength.*\(0, 1\]"):
        GuidedSampler(OracleX0UNet(torch.zeros(1, 4, 8, 8)), None, "instruct_diffusion", 10, strength=strength)
