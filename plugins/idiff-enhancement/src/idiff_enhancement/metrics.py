"""PSNR and SSIM of restored images (PAPER.md "Evaluation protocols": low-level tasks are scored by PSNR).

Both are computed on the RGB values of the whole image at its own size, one value per image, then averaged over
images, with torchmetrics' functional metrics:

- PSNR: ``10 log10(255^2 / MSE)`` over all pixels and channels of the uint8 values, in float64; identical images
  (MSE 0) score :data:`MAX_PSNR` instead of infinity, so a mean stays finite.
- SSIM (Wang et al., 2004): Gaussian window sigma 1.5 (11 x 11, truncated at 3.5 sigma), K1 = 0.01, K2 = 0.03,
  population (not sample) covariances, the mean over the pixels at least 5 px from the border and over channels.
  These are scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=255, channel_axis=-1)`` settings; torchmetrics averages over the whole reflect-padded image, so its
  full SSIM map is taken and the border cropped here. It runs in float32 on the 0-255 values: torch's float64
  convolution goes through im2col, ~20 times slower (30 s instead of 1.5 s for a 1280 x 720 frame on a CPU) and
  ~13 GB for that frame; float32 stays within ~3e-5 of the float64 value (values scaled to [0, 1] first lose up to
  3e-4). ``tests/test_enh_metrics.py`` checks both metrics against scikit-image to 1e-4.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

__all__ = ["MAX_PSNR", "SSIM_SIGMA", "image_quality", "mean_quality", "psnr", "ssim"]

#: PSNR reported for identical images.
MAX_PSNR = 100.0
#: Standard deviation of SSIM's Gaussian window.
SSIM_SIGMA = 1.5
_SSIM_RADIUS = int(3.5 * SSIM_SIGMA + 0.5)  # 5: the window's half width, cropped from the border


def _tensor(image: np.ndarray, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {array.shape}")
    return torch.from_numpy(array.astype(np.float64)).to(dtype).permute(2, 0, 1).unsqueeze(0)


def _check(prediction: np.ndarray, target: np.ndarray) -> None:
    if np.shape(prediction) != np.shape(target):
        raise ValueError(f"prediction {np.shape(prediction)} and target {np.shape(target)} differ in size")


def psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    """PSNR in dB of two uint8 (H, W, 3) images; :data:`MAX_PSNR` when they are identical."""
    _check(prediction, target)
    value = float(peak_signal_noise_ratio(_tensor(prediction), _tensor(target), data_range=255.0))
    return min(value, MAX_PSNR)


def ssim(prediction: np.ndarray, target: np.ndarray) -> float:
    """SSIM of two uint8 (H, W, 3) images, both sides larger than 10 px (settings in the module docstring)."""
    _check(prediction, target)
    if min(np.shape(target)[:2]) <= 2 * _SSIM_RADIUS:
        raise ValueError(f"SSIM needs images larger than {2 * _SSIM_RADIUS} px, got {np.shape(target)[:2]}")
    _, full = structural_similarity_index_measure(
        _tensor(prediction, torch.float32), _tensor(target, torch.float32),
        gaussian_kernel=True, sigma=SSIM_SIGMA, data_range=255.0, k1=0.01, k2=0.03, return_full_image=True,
    )  # fmt: skip
    r = _SSIM_RADIUS
    return float(full[..., r:-r, r:-r].double().mean())


def image_quality(prediction: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """``{"PSNR": ..., "SSIM": ...}`` of one restored image."""
    return {"PSNR": psnr(prediction, target), "SSIM": ssim(prediction, target)}


def mean_quality(per_image: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over images (0.0 for no images)."""
    if not per_image:
        return {"PSNR": 0.0, "SSIM": 0.0}
    return {key: float(np.mean([m[key] for m in per_image])) for key in per_image[0]}
