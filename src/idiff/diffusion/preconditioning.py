"""EDM preconditioning of the clean-image (x0) prediction (Karras et al., "Elucidating the Design Space of
Diffusion-Based Generative Models", NeurIPS 2022, Table 1 and Sec. 5), on the DDPM schedule the UNet is trained with.

Without it, a network asked for the clean latent x0 reads the noisy latent x_t as it is: at high noise x_t is almost
all noise, at low noise almost all signal, and one set of weights has to learn both the skip from x_t to its output
and how much to trust it at each noise level. EDM writes the estimate as

    x0 = c_skip(sigma) * x + c_out(sigma) * F(c_in(sigma) * x, t)

with ``x = x0 + sigma * noise`` (the variance-exploding view of the DDPM latent, ``x = x_t / sqrt(alphas_cumprod)``,
``sigma = sqrt((1 - alphas_cumprod) / alphas_cumprod)``) and

    c_skip = sigma_data^2 / (sigma^2 + sigma_data^2)
    c_out  = sigma * sigma_data / sqrt(sigma^2 + sigma_data^2)
    c_in   = 1 / sqrt(sigma^2 + sigma_data^2)

so the network's input and its training target both have unit variance at every noise level, and the loss weight
``1 / c_out^2`` gives every noise level the same weight on that target. ``sigma_data`` is the standard deviation of
what is diffused (0.5 for images in [-1, 1]; about 0.1-0.2 for the tiny default's edits, docs/architecture.md).
The UNet still receives the DDPM timestep, so schedulers and checkpoints are unchanged; only what goes in and what
comes out of the UNet is scaled. Selected by ``model.preconditioning: edm`` with
``model.noise_schedule.prediction_type: sample``.
"""

from __future__ import annotations

import torch
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.training_utils import compute_snr

from idiff.errors import ConfigError

__all__ = ["EDMPreconditioning", "build_preconditioning", "vp_sigma"]


def vp_sigma(scheduler: SchedulerMixin, timesteps: torch.Tensor) -> torch.Tensor:
    """The noise level ``sigma = sqrt((1 - a) / a) = SNR^-1/2`` of a DDPM-family scheduler's timesteps, float32."""
    return compute_snr(scheduler, timesteps.long()).rsqrt()


class EDMPreconditioning:
    """Input / output scaling and loss weights of EDM's x0 parameterisation (see the module docstring)."""

    def __init__(self, sigma_data: float) -> None:
        if not sigma_data > 0:
            raise ConfigError(f"model.sigma_data={sigma_data}: must be > 0 (the std of what is diffused)")
        self.sigma_data = float(sigma_data)

    def coefficients(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(c_skip, c_out, c_in)`` for noise levels ``sigma`` (any shape)."""
        sd2 = self.sigma_data**2
        total = sigma**2 + sd2
        return sd2 / total, sigma * self.sigma_data / total.sqrt(), total.rsqrt()

    @staticmethod
    def _expand(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return values.reshape(-1, *([1] * (like.ndim - 1))).to(like.dtype)

    def network_input(self, x_vp: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``c_in * x`` for the DDPM latent ``x_vp`` (B, C, h, w) at noise levels ``sigma`` (B,) or (1,)."""
        _, _, c_in = self.coefficients(sigma)
        scale = self._expand(c_in * (1 + sigma**2).sqrt(), x_vp)  # x = x_vp * sqrt(1 + sigma^2)
        return x_vp * scale

    def clean_estimate(self, output: torch.Tensor, x_vp: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """x0 from the network's ``output`` F: ``c_skip * x + c_out * F``."""
        c_skip, c_out, _ = self.coefficients(sigma)
        x = x_vp * self._expand((1 + sigma**2).sqrt(), x_vp)
        return self._expand(c_skip, x) * x + self._expand(c_out, output) * output

    def loss_weights(self, sigma: torch.Tensor) -> torch.Tensor:
        """EDM's lambda(sigma) = 1 / c_out^2: the x0 error weighted as the error of F on its unit-variance target."""
        _, c_out, _ = self.coefficients(sigma)
        return c_out.float() ** -2


def build_preconditioning(model: dict, prediction_type: str) -> EDMPreconditioning | None:
    """``model.preconditioning`` (null or ``edm``, with ``model.sigma_data``) for the configured prediction type."""
    kind = model.get("preconditioning")
    if kind is None:
        return None
    if kind != "edm":
        raise ConfigError(f"model.preconditioning={kind!r}; allowed: null (diffusers' parameterisation), edm")
    if prediction_type != "sample":
        raise ConfigError(
            f"model.preconditioning=edm preconditions a clean-latent (x0) prediction, but "
            f"model.noise_schedule.prediction_type={prediction_type}; set it to sample, or model.preconditioning=null"
        )
    return EDMPreconditioning(float(model.get("sigma_data", 0.5)))
