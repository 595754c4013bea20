"""``model.source_filter``: a per-image pixel filter of the source, chosen by the instruction, added to the edit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from idiff.codecs import SpaceToDepthCodec
from idiff.diffusion.source_filter import SourceFilter, build_source_filter
from idiff.errors import ConfigError

FILTER = "model.source_filter={kernel_size: 3}"


def random_filter(seed: int = 0) -> SourceFilter:
    source_filter = SourceFilter(text_dim=16, factor=4, kernel_size=3)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in source_filter.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    return source_filter


def test_each_image_gets_the_filter_its_own_instruction_predicts():
    # reference: one ordinary convolution per image, with the kernel the layer predicts from that image's text alone
    source_filter = random_filter()
    generator = torch.Generator().manual_seed(1)
    pixels = torch.rand(3, 3, 16, 16, generator=generator) * 2 - 1
    pooled = torch.randn(3, 16, generator=generator)
    edit = F.pixel_shuffle(source_filter(F.pixel_unshuffle(pixels, 4), pooled), 4)
    for i in range(3):
        kernel = source_filter.weights(F.layer_norm(pooled[i], (16,))).view(3, 3, 3, 3)
        expected = F.conv2d(F.pad(pixels[i : i + 1], [1, 1, 1, 1], mode="replicate"), kernel)
        torch.testing.assert_close(edit[i : i + 1], expected, rtol=1e-5, atol=1e-5)


def test_a_delta_kernel_returns_the_source_and_a_new_filter_returns_no_edit():
    source_filter = SourceFilter(text_dim=16, factor=4, kernel_size=5)
    latents = torch.rand(2, 48, 4, 4) * 2 - 1
    text = torch.randn(2, 16)
    assert source_filter(latents, text).abs().max().item() == 0.0  # zero-initialised: the model starts as its UNet
    delta = torch.zeros(3, 3, 5, 5)
    delta[range(3), range(3), 2, 2] = 1.0
    with torch.no_grad():
        source_filter.weights.bias.copy_(delta.flatten())
    torch.testing.assert_close(source_filter(latents, text), latents)


def test_the_pooled_instruction_is_the_mean_of_its_own_tokens_not_the_padding(make_module):
    module = make_module()
    instructions = ["Denoise this photo.", "Sharpen this blurry image, please."]
    text, tokens = module.instruction_states(instructions)
    pooled = SourceFilter.pool(text, tokens)
    lengths = [len(module.tokenizer(i).input_ids) for i in instructions]  # start, words, end token
    for row, n in enumerate(lengths):
        torch.testing.assert_close(pooled[row], text[row, :n].mean(0))
    torch.testing.assert_close(pooled[2], text[2, :2].mean(0))  # the empty instruction, last: start and end token
    text, tokens = module.instruction_states(instructions, torch.tensor([True, False]))
    dropped = SourceFilter.pool(text, tokens)
    torch.testing.assert_close(dropped[0], pooled[2])  # dropped: the empty instruction's
    torch.testing.assert_close(dropped[1], pooled[1])


def test_fitting_the_filter_alone_learns_a_blur():
    # a few Adam steps on "edit = blur(source) - source" for one instruction: the predicted filter becomes that blur
    torch.manual_seed(0)
    source_filter = SourceFilter(text_dim=8, factor=2, kernel_size=3)
    blur = torch.tensor([1.0, 2.0, 1.0])
    blur = (blur[:, None] * blur[None, :] / 16).expand(3, 1, 3, 3)
    text = torch.randn(1, 8).expand(8, 8)
    optimizer = torch.optim.Adam(source_filter.parameters(), lr=0.02)
    losses = []
    for _ in range(150):
        pixels = torch.rand(8, 3, 16, 16) * 2 - 1
        blurred = F.conv2d(F.pad(pixels, [1, 1, 1, 1], mode="replicate"), blur, groups=3)
        edit = source_filter(F.pixel_unshuffle(pixels, 2), text)
        loss = F.mse_loss(edit, F.pixel_unshuffle(blurred - pixels, 2))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.02 * losses[0]


def test_the_module_with_a_filter_starts_as_the_module_without(make_module):
    plain, filtered = make_module(), make_module(FILTER)
    generator = torch.Generator().manual_seed(0)
    source, target = (torch.rand(2, 3, 64, 64, generator=generator) * 2 - 1 for _ in range(2))
    draws = torch.tensor([3, 4])
    instructions = ["Remove the noise from this photo.", "Circle the nose of the person with red."]
    torch.testing.assert_close(filtered.diffusion_loss(source, target, instructions, draws),
                               plain.diffusion_loss(source, target, instructions, draws))
    assert len(filtered.ema_parameters()) == len(list(plain.unet.parameters())) + 2


def test_the_filter_reaches_the_generated_image_and_its_checkpoint(make_module, tmp_path):
    from idiff.checkpoints import export_weights, load_module

    module = make_module(FILTER, "sampler.num_steps=2").eval()
    sources = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    instructions = ["Remove the noise from this photo.", "Sharpen this photo."]

    def generate(m):
        return m.generate(sources, instructions, 5.0, 1.5, torch.Generator().manual_seed(0))

    before = generate(module)
    with torch.no_grad():
        module.source_filter.weights.bias.normal_(0.0, 0.05)
    after = generate(module)
    assert (after - before).abs().max().item() > 1e-3
    loaded = load_module(export_weights(module, tmp_path / "w.safetensors", use_ema=False, half=False)).eval()
    torch.testing.assert_close(generate(loaded), after)


def test_the_exported_ema_weights_include_the_filters(make_module, tmp_path):
    # the EMA averages the filter like the UNet: export_weights writes its average, not the raw weights
    from idiff.checkpoints import export_weights, load_module

    module = make_module(FILTER)
    with torch.no_grad():
        module.source_filter.weights.bias.fill_(0.5)  # raw weights move; the EMA still holds the zeros
        module.ema.shadow_params[-2].fill_(0.25)  # the filter's weight matrix, after the UNet's parameters
    loaded = load_module(export_weights(module, tmp_path / "w.safetensors", half=False))
    assert loaded.source_filter.weights.weight.unique().tolist() == [0.25]
    assert loaded.source_filter.weights.bias.abs().max().item() == 0.0
    torch.testing.assert_close(loaded.unet.conv_out.weight, module.unet.conv_out.weight)


@pytest.mark.parametrize(
    ("overrides", "needs"),
    [
        (["model.residual=false"], "model.residual=true"),
        (["model.noise_schedule.prediction_type=epsilon"], "prediction_type=sample"),
        (["model.preconditioning=edm", "stage.snr_gamma=null"], "model.preconditioning=null"),
        (["stage=pretrain_adaptation"], "an editing stage"),  # text-to-image: no source to filter
    ],
)
def test_settings_the_filter_cannot_work_with_are_one_config_error(make_module, overrides, needs):
    with pytest.raises(ConfigError, match=needs):
        make_module(FILTER, *overrides)


def test_the_filter_needs_pixels_an_odd_kernel_and_known_keys():
    model = {"source_filter": {"kernel_size": 5}}
    with pytest.raises(ConfigError, match="space_to_depth"):
        build_source_filter(model, object(), 16, "sample", True)
    with pytest.raises(ConfigError, match="odd"):
        build_source_filter({**model, "source_filter": {"kernel_size": 4}}, SpaceToDepthCodec(4), 16, "sample", True)
    with pytest.raises(ConfigError, match="unknown key"):
        build_source_filter({**model, "source_filter": {"size": 5}}, SpaceToDepthCodec(4), 16, "sample", True)
    assert build_source_filter({"source_filter": None}, SpaceToDepthCodec(4), 16, "sample", True) is None


def test_export_to_sd_formats_refuses_a_filtered_model(make_module):
    from idiff.export import interchange_problems

    assert any("source_filter" in p for p in interchange_problems(make_module(FILTER)))
