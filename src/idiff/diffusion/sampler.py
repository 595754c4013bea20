"""Sampling with two-scale classifier-free guidance and a diffusers scheduler (Euler ancestral by default).

The loop follows diffusers' ``StableDiffusionInstructPix2PixPipeline`` step for step (same noise draws from the
same generator, same batch order), so with the InstructPix2Pix formula and the same components it produces the
same image; tests/test_sampler.py checks this against the pipeline itself.
"""

from __future__ import annotations

import torch
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    UNet2DConditionModel,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils.torch_utils import randn_tensor

from idiff.diffusion.guidance import GuidanceFormula, combine_guidance, guidance_conditions
from idiff.diffusion.preconditioning import EDMPreconditioning, vp_sigma
from idiff.diffusion.source_filter import SourceFilter
from idiff.diffusion.unet import unet_conditioning
from idiff.errors import ConfigError

__all__ = ["GuidedSampler", "build_inference_scheduler"]

_VE_SCHEDULERS = (EulerAncestralDiscreteScheduler, EulerDiscreteScheduler)

SCHEDULERS: dict[str, type[SchedulerMixin]] = {
    "euler_ancestral": EulerAncestralDiscreteScheduler,
    "euler": EulerDiscreteScheduler,
    "ddim": DDIMScheduler,
    "dpm_solver": DPMSolverMultistepScheduler,
}


def build_inference_scheduler(name: str, train_scheduler_config: dict) -> SchedulerMixin:
    """An inference scheduler sharing the training scheduler's noise schedule.

    diffusers' Euler ancestral scheduler does not take sample (x0) predictions; for the two Euler schedulers (whose
    latents are ``x0 + sigma * eps``) the scheduler is set to epsilon and :class:`GuidedSampler` converts the model's
    x0 into epsilon (``eps = (x - x0) / sigma``). DDIM and DPM-Solver take x0 as they are.
    """
    if name not in SCHEDULERS:
        raise ValueError(f"sampler.scheduler: unknown scheduler {name!r}; allowed: {', '.join(SCHEDULERS)}")
    scheduler = SCHEDULERS[name].from_config(train_scheduler_config)
    if scheduler.config.prediction_type == "sample" and isinstance(scheduler, _VE_SCHEDULERS):
        scheduler = SCHEDULERS[name].from_config(train_scheduler_config, prediction_type="epsilon")
        scheduler.register_to_config(model_prediction_type="sample")
    return scheduler


class GuidedSampler:
    """Generates target latents from source latents and instruction embeddings.

    Args:
        unet: noise predictor taking ``cat([z_t, source_latent], 1)``.
        scheduler: a diffusers scheduler (its state is reset by each call).
        formula: ``instruct_diffusion`` or ``instruct_pix2pix`` (see :mod:`idiff.diffusion.guidance`).
        num_steps: number of denoising steps (of a full run from pure noise).
        strength: diffusers' img2img strength: start at this fraction of the noise schedule from ``init_latents``
            (what the diffusion generates for "change nothing") noised to that level, and run the last
            ``int(num_steps * strength)`` steps; 1.0 (the default, the paper's sampling) starts from pure noise.
        preconditioning: EDM scaling of the UNet's input and output (``model.preconditioning``), or None.
        source_filter: the instruction's filter of the source (``model.source_filter``), added to the UNet's x0
            prediction times ``residual_scale``, or None.
    """

    def __init__(
        self,
        unet: UNet2DConditionModel,
        scheduler: SchedulerMixin,
        formula: GuidanceFormula,
        num_steps: int,
        strength: float = 1.0,
        preconditioning: EDMPreconditioning | None = None,
        source_filter: SourceFilter | None = None,
        residual_scale: float = 1.0,
    ) -> None:
        if not 0.0 < strength <= 1.0:
            raise ConfigError(f"sampler.strength={strength}: must be in (0, 1] (1.0: start from pure noise)")
        self.unet = unet
        self.scheduler = scheduler
        self.formula = formula
        self.num_steps = num_steps
        self.strength = strength
        self.preconditioning = preconditioning
        self.source_filter, self.residual_scale = source_filter, residual_scale
        self.conditions = guidance_conditions(formula)

    @torch.no_grad()
    def __call__(
        self,
        source_latents: torch.Tensor,
        text_embeddings: torch.Tensor,
        null_text_embeddings: torch.Tensor,
        text_scale: float | torch.Tensor,
        image_scale: float | torch.Tensor,
        latent_channels: int,
        generator: torch.Generator | None = None,
        text_mask: torch.Tensor | None = None,
        null_text_mask: torch.Tensor | None = None,
        init_latents: torch.Tensor | None = None,
        pooled: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Run the reverse process; returns scaled target latents (B, latent_channels, h, w).

        ``text_mask`` / ``null_text_mask`` (True = attend) restrict cross-attention to the instructions' own
        tokens; both or neither. ``init_latents`` (zeros if None) is where a run with ``strength`` < 1 starts.
        ``pooled``: the pooled instructions (B, D) and the empty one's (1, D) that ``source_filter`` reads.
        """
        batch, _, height, width = source_latents.shape
        device, dtype = source_latents.device, source_latents.dtype
        null_text = null_text_embeddings.expand_as(text_embeddings)
        image_cond = torch.cat(
            [source_latents if use_image else torch.zeros_like(source_latents) for use_image, _ in self.conditions]
        )
        text_cond = torch.cat([text_embeddings if use_text else null_text for _, use_text in self.conditions])
        if self.source_filter is not None:
            if pooled is None:
                raise ValueError("GuidedSampler: a source_filter needs the pooled instructions (pooled=...)")
            filter_cond = torch.cat([pooled[0] if use_text else pooled[1].expand_as(pooled[0])
                                     for _, use_text in self.conditions])
            filter_edit = self.residual_scale * self.source_filter(image_cond, filter_cond)  # the same at every step
        if (text_mask is None) != (null_text_mask is None):
            raise ValueError("GuidedSampler: pass both text_mask and null_text_mask, or neither")
        mask_cond = None
        if text_mask is not None and null_text_mask is not None:
            null_mask = null_text_mask.expand_as(text_mask)
            mask_cond = torch.cat([text_mask if use_text else null_mask for _, use_text in self.conditions])

        self.scheduler.set_timesteps(self.num_steps, device=device)
        latents = randn_tensor((batch, latent_channels, height, width), generator=generator, device=device, dtype=dtype)
        timesteps = self.scheduler.timesteps
        if self.strength < 1.0:  # diffusers' img2img: skip the first steps, noise the start to the first one kept
            start = (self.num_steps - max(1, int(self.num_steps * self.strength))) * self.scheduler.order
            timesteps = timesteps[start:]
            if hasattr(self.scheduler, "set_begin_index"):
                self.scheduler.set_begin_index(start)
            if init_latents is None:
                init_latents = torch.zeros_like(latents)
            latents = self.scheduler.add_noise(init_latents.to(dtype), latents, timesteps[:1].repeat(batch))
        else:
            latents = latents * self.scheduler.init_noise_sigma
        conditioning = unet_conditioning(self.unet, text_cond, mask_cond)
        x0_as_epsilon = self.scheduler.config.get("model_prediction_type") == "sample"
        for t in timesteps:
            model_input = self.scheduler.scale_model_input(torch.cat([latents] * 3), t)
            sigma = self._sigma(t) if x0_as_epsilon or self.preconditioning is not None else None
            unet_input = model_input
            if self.preconditioning is not None:
                unet_input = self.preconditioning.network_input(model_input, sigma)
            prediction = self.unet(torch.cat([unet_input, image_cond], 1), t, **conditioning, return_dict=False)[0]
            if self.source_filter is not None:
                prediction = prediction + filter_edit
            if self.preconditioning is not None:
                prediction = self.preconditioning.clean_estimate(prediction, model_input, sigma)
            if x0_as_epsilon:
                prediction = (torch.cat([latents] * 3) - prediction) / sigma
            full, image_only, third = prediction.chunk(3)
            noise_pred = combine_guidance(full, image_only, third, text_scale, image_scale, self.formula)
            latents = self.scheduler.step(noise_pred, t, latents, generator=generator, return_dict=False)[0]
        return latents

    def _sigma(self, t: torch.Tensor) -> torch.Tensor:
        """The noise level (1,) of step ``t``: the Euler schedulers' own sigma (their latents are ``x0 + sigma * eps``),
        else the DDPM one of timestep ``t`` (DDIM's and DPM-Solver's latents are the DDPM ``x_t``)."""
        if isinstance(self.scheduler, _VE_SCHEDULERS):
            return self.scheduler.sigmas[self.scheduler.step_index].reshape(1)
        return vp_sigma(self.scheduler, torch.as_tensor(t).reshape(1))
