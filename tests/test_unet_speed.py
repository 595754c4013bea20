"""``model.channels_last`` and ``model.compile``: the UNet computes the same and its checkpoints stay the same."""

from __future__ import annotations

import shutil

import pytest
import torch

from idiff.diffusion.unet import speed_up_unet
from idiff.errors import ConfigError
from idiff.module import DiffusionModule


def unet_inputs(module: DiffusionModule, batch: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    unet = module.unet
    size = unet.config.sample_size
    sample = torch.randn(batch, unet.config.in_channels, size, size, generator=generator)
    text = torch.randn(batch, 77, unet.config.cross_attention_dim, generator=generator)
    return sample, torch.tensor([10, 900])[:batch], text


@pytest.mark.parametrize(
    "overrides",
    [
        ["model.channels_last=true"],
        # TorchDynamo's tracing without code generation (fast enough for here; inductor: the slow test below)
        ["model.channels_last=true", "model.compile={backend: eager}"],
    ],
)
def test_a_sped_up_unet_computes_the_same_and_keeps_its_checkpoint_keys(make_module, overrides):
    plain = make_module()
    fast = make_module(*overrides)
    fast.load_state_dict(plain.state_dict())  # strict: the same keys
    assert list(fast.state_dict()) == list(plain.state_dict())
    assert fast.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    sample, timesteps, text = unet_inputs(plain)
    expected = plain.unet(sample, timesteps, text).sample
    got = fast.unet(sample, timesteps, text).sample
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    got.square().mean().backward()  # and it trains: gradients reach the (shared) parameters
    assert fast.unet.conv_in.weight.grad is not None


def test_a_sped_up_module_generates_what_the_plain_one_does(make_module):
    plain = make_module("sampler.num_steps=2").eval()
    fast = make_module("sampler.num_steps=2", "model.channels_last=true").eval()
    fast.load_state_dict(plain.state_dict())
    sources = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    images = [
        module.generate(sources, ["Remove the noise", "Circle the nose in red"], 2.0, 1.5,
                        torch.Generator().manual_seed(2))
        for module in (plain, fast)
    ]
    torch.testing.assert_close(images[1], images[0], rtol=1e-4, atol=1e-4)


def test_a_bad_compile_value_names_the_key():
    with pytest.raises(ConfigError, match=r"model\.compile='yes'.*true, false or a mapping"):
        speed_up_unet(torch.nn.Linear(2, 2), compile_options="yes")


@pytest.mark.slow
@pytest.mark.skipif(
    not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")), reason="TorchInductor needs a C++ compiler"
)
def test_inductor_compiled_unet_matches_eager_forward_and_backward(make_tiny_unet):
    """The real thing: TorchInductor's generated C++ (a minute or more on a 2-core CPU)."""
    eager, compiled = make_tiny_unet(8), make_tiny_unet(8)
    speed_up_unet(compiled, channels_last=True, compile_options=True)
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 8, 16, 16, generator=generator)
    text = torch.randn(2, 77, 32, generator=generator)
    timesteps = torch.tensor([10, 900])
    outputs = [unet(sample, timesteps, text).sample for unet in (eager, compiled)]
    torch.testing.assert_close(outputs[1], outputs[0], rtol=1e-4, atol=1e-4)
    for out in outputs:
        out.square().mean().backward()
    torch.testing.assert_close(compiled.conv_in.weight.grad, eager.conv_in.weight.grad, rtol=1e-3, atol=1e-5)
