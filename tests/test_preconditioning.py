"""EDM preconditioning (``model.preconditioning=edm``), the LDM / ADM zero initialisation of the UNet and the UNet
without its output GroupNorm (``model.output_norm=false``)."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDPMScheduler

from idiff.diffusion.preconditioning import EDMPreconditioning, build_preconditioning, vp_sigma
from idiff.diffusion.sampler import GuidedSampler, build_inference_scheduler
from idiff.diffusion.unet import build_unet, drop_output_norm, zero_residual_branches
from idiff.errors import ConfigError

SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
            "prediction_type": "sample", "clip_sample": False}


def test_vp_sigma_turns_diffusers_noisy_latents_into_x0_plus_sigma_noise():
    scheduler = DDPMScheduler(**SCHEDULE)
    generator = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(2, 4, 3, 3, generator=generator), torch.randn(2, 4, 3, 3, generator=generator)
    for t in (0, 10, 500, 999):
        timesteps = torch.tensor([t, t])
        noisy = scheduler.add_noise(x0, noise, timesteps)
        sigma = vp_sigma(scheduler, timesteps)[:, None, None, None]
        torch.testing.assert_close(noisy * (1 + sigma**2).sqrt(), x0 + sigma * noise, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sigma", [0.03, 0.15, 1.0, 14.6])
def test_network_input_and_target_have_unit_variance_at_every_noise_level(sigma):
    # EDM's defining property (Karras et al. 2022, Appendix B.6): for data of std sigma_data, c_in * x and the
    # effective target (x0 - c_skip * x) / c_out both have unit variance
    edm = EDMPreconditioning(sigma_data=0.15)
    generator = torch.Generator().manual_seed(1)
    x0 = 0.15 * torch.randn(200_000, generator=generator)
    x = x0 + sigma * torch.randn(200_000, generator=generator)
    s = torch.full_like(x, sigma)
    x_vp = x / (1 + s**2).sqrt()
    c_skip, c_out, _ = edm.coefficients(s)
    assert edm.network_input(x_vp[:, None], s).std().item() == pytest.approx(1.0, abs=0.01)
    assert ((x0 - c_skip * x) / c_out).std().item() == pytest.approx(1.0, abs=0.01)


def test_the_weighted_x0_loss_is_the_networks_own_error_and_no_noise_means_the_input():
    edm = EDMPreconditioning(sigma_data=0.5)
    generator = torch.Generator().manual_seed(2)
    sigma = torch.tensor([0.1, 1.0, 5.0])
    x_vp, output, x0 = (torch.randn(3, 4, 2, 2, generator=generator) for _ in range(3))
    estimate = edm.clean_estimate(output, x_vp, sigma)
    c_skip, c_out, _ = (c[:, None, None, None] for c in edm.coefficients(sigma))
    x = x_vp * (1 + sigma**2).sqrt()[:, None, None, None]
    target = (x0 - c_skip * x) / c_out
    weighted = edm.loss_weights(sigma) * (estimate - x0).square().mean((1, 2, 3))
    torch.testing.assert_close(weighted, (output - target).square().mean((1, 2, 3)))
    tiny = torch.full((3,), 1e-6)
    torch.testing.assert_close(edm.clean_estimate(output, x_vp, tiny), x_vp, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["euler_ancestral", "euler", "ddim", "dpm_solver"])
def test_the_sampler_with_an_oracle_network_returns_the_clean_latent(name):
    """An oracle F (the exact unit-variance target for a known x0) gives back x0 under every scheduler, and the
    latent it is shown is x0 + sigma * noise with the scheduler's own sigma (Euler's VE latents, DDIM's VP ones):
    with deterministic steps the same noise at every step."""
    edm = EDMPreconditioning(sigma_data=0.15)
    scheduler = build_inference_scheduler(name, SCHEDULE)
    x0 = 0.15 * torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(3))
    noises: list[torch.Tensor] = []

    def oracle(model_input: torch.Tensor, t: torch.Tensor, **_: object) -> tuple[torch.Tensor]:
        if name in ("ddim", "dpm_solver"):  # VP latents: the DDPM sigma of the timestep
            sigma = vp_sigma(scheduler, torch.as_tensor(t).reshape(1))
        else:
            sigma = scheduler.sigmas[scheduler.step_index].reshape(1)
        c_skip, c_out, c_in = edm.coefficients(sigma)
        x = model_input[:, :4] / c_in
        noises.append((x - x0) / sigma)
        return ((x0 - c_skip * x) / c_out,)

    sampler = GuidedSampler(oracle, scheduler, "instruct_pix2pix", num_steps=5, preconditioning=edm)
    text = torch.zeros(1, 77, 8)
    out = sampler(torch.zeros(1, 4, 4, 4), text, text, 1.0, 1.0, 4, torch.Generator().manual_seed(4))
    assert len(noises) == 5  # one UNet call (three guidance branches batched) per step
    if name == "euler_ancestral":  # fresh noise at every step, down to the last sigma
        assert (out - x0).abs().max() < 0.1
        return
    torch.testing.assert_close(out, x0, rtol=1e-4, atol=1e-4)
    for noise in noises[1:]:
        torch.testing.assert_close(noise, noises[0], rtol=1e-3, atol=1e-3)


def test_bad_preconditioning_settings_name_the_keys(make_module):
    with pytest.raises(ConfigError, match=r"model\.preconditioning='karras'.*allowed: null.*edm"):
        build_preconditioning({"preconditioning": "karras"}, "sample")
    with pytest.raises(ConfigError, match=r"prediction_type=epsilon; set it to sample"):
        build_preconditioning({"preconditioning": "edm"}, "epsilon")
    with pytest.raises(ConfigError, match=r"model\.sigma_data=0.0"):
        build_preconditioning({"preconditioning": "edm", "sigma_data": 0.0}, "sample")
    with pytest.raises(ConfigError, match=r"stage\.snr_gamma=5\.0 with model\.preconditioning=edm"):
        make_module("model.preconditioning=edm", "stage.snr_gamma=5.0")
    assert build_preconditioning({"preconditioning": None}, "epsilon") is None


ARCHITECTURE = {"block_out_channels": [32, 32], "norm_num_groups": 8, "attention_head_dim": 8, "layers_per_block": 1,
                "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
                "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]}


def test_zero_initialised_unet_starts_at_zero_and_still_learns():
    unet = build_unet(4, 16, 8, architecture=ARCHITECTURE, seed=0)
    generator = torch.Generator().manual_seed(5)
    sample, text = torch.randn(2, 8, 8, 8, generator=generator), torch.randn(2, 77, 16, generator=generator)
    assert unet(sample, torch.tensor([3, 700]), text).sample.abs().max() > 0
    assert zero_residual_branches(unet) == 1 + (2 + 2 + 4) + (1 + 1 + 2)  # conv_out; down, mid, up resnets; attention
    assert unet(sample, torch.tensor([3, 700]), text).sample.abs().max() == 0
    optimizer = torch.optim.Adam(unet.parameters(), lr=1e-3)
    for _ in range(3):  # step 1 moves conv_out, step 2 the blocks' last layers, step 3 reaches their first
        loss = (unet(sample, torch.tensor([3, 700]), text).sample - 1).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert unet.down_blocks[0].resnets[0].conv1.weight.grad.abs().max() > 0  # gradients reach inside the blocks


def test_zero_initialisation_refuses_pretrained_weights(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.zero_init_residuals=true.*pretrained_path"):
        build_unet(4, 16, 8, pretrained_path=tmp_path, zero_init_residuals=True)


def _last_block_and_output(unet, sample, text):
    seen = {}
    handle = unet.up_blocks[-1].register_forward_hook(lambda _m, _i, out: seen.update(features=out))
    output = unet(sample, torch.tensor([3, 700]), text).sample
    handle.remove()
    return seen["features"], output


def test_without_output_norm_conv_out_reads_the_last_block_as_it_is():
    generator = torch.Generator().manual_seed(6)
    sample, text = torch.randn(2, 8, 8, 8, generator=generator), torch.randn(2, 77, 16, generator=generator)
    plain = build_unet(4, 16, 8, architecture=ARCHITECTURE, seed=0)
    features, output = _last_block_and_output(plain, sample, text)
    # diffusers' default: GroupNorm + SiLU in front of conv_out
    torch.testing.assert_close(plain.conv_out(plain.conv_act(plain.conv_norm_out(features))), output)
    without = build_unet(4, 16, 8, architecture=ARCHITECTURE, seed=0, output_norm=False)
    assert without.conv_norm_out is None and without.conv_act is None
    features_w, output_w = _last_block_and_output(without, sample, text)
    torch.testing.assert_close(features_w, features)  # the same weights up to the output
    torch.testing.assert_close(output_w, without.conv_out(features_w))
    assert "conv_norm_out.weight" not in without.state_dict()
    assert drop_output_norm(plain).conv_norm_out is None


def test_dropping_the_output_norm_refuses_pretrained_weights(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.output_norm=false.*pretrained_path"):
        build_unet(4, 16, 8, pretrained_path=tmp_path, output_norm=False)


def test_a_module_without_output_norm_round_trips_through_its_checkpoint(make_module, tmp_path):
    from idiff.checkpoints import export_weights, load_module

    module = make_module("model.output_norm=false", "model.zero_init_residuals=true")
    assert module.unet.conv_norm_out is None
    assert module.unet.conv_out.weight.abs().max() == 0
    with torch.no_grad():
        for parameter in module.unet.parameters():
            parameter.add_(0.01 * torch.randn(parameter.shape, generator=torch.Generator().manual_seed(3)))
    loaded = load_module(export_weights(module, tmp_path / "w.safetensors", use_ema=False, half=False))
    assert loaded.unet.conv_norm_out is None
    generator = torch.Generator().manual_seed(7)
    config = module.unet.config
    sample = torch.randn(2, config.in_channels, config.sample_size, config.sample_size, generator=generator)
    text = torch.randn(2, 77, config.cross_attention_dim, generator=generator)
    timesteps = torch.tensor([3, 700])
    torch.testing.assert_close(loaded.unet(sample, timesteps, text).sample, module.unet(sample, timesteps, text).sample)
