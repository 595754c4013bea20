"""A small synthetic SIDD: procedural scenes with camera noise, written in the SIDD-Medium and validation layouts.

Noise model: heteroscedastic Poisson-Gaussian noise in linear raw space (Foi et al., TIP 2008), with parameters as
in "Unprocessing Images for Learned Raw Denoising" (Brooks et al., CVPR 2019):

1. the clean image (:mod:`idiff_enhancement.scenes`) is taken to linear light (gamma 2.2) and divided by white-
   balance gains (red 1.9-2.4, green 1, blue 1.5-1.9), giving the sensor's raw signal x in [0, 1];
2. shot noise: ``a * Poisson(x / a)`` (variance a x); read noise: Gaussian of variance b; per image
   ``log a ~ U(log 2e-3, log 2e-2)`` and ``log b = 2.18 log a + 1.20 + N(0, 0.26)`` (Brooks et al.'s fit);
3. the gains are applied again (so red and blue end up noisier, as after a camera's white balance), the result is
   clipped, gamma-encoded and quantised to 8 bits.

Brooks et al. draw ``a`` from [1e-4, 1.2e-2]; the range here is shifted up so the noisy inputs score about 20-30 dB
PSNR against their ground truth (mean ~25 dB; SIDD's validation inputs score ~24 dB). Demosaicing and the camera's
own denoising are not modelled: the noise is independent per pixel and channel. The shot level is written into the
scene folder name as an ISO (100-3200), as SIDD names its scene instances.

Layouts (:mod:`idiff_enhancement.sidd`): ``<root>/Data/<scene>/<id>_{NOISY,GT}_SRGB_{010,011}.PNG``, two noise draws
per scene as SIDD's two captures; validation blocks in two MATLAB v5 files of shape (images, blocks, B, B, 3).
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
from idiff.files import atomic_write_bytes

from idiff_enhancement.gamma import to_linear, to_uint8
from idiff_enhancement.images import write_rgb
from idiff_enhancement.scenes import render_scene
from idiff_enhancement.staging import staged_directory

__all__ = [
    "SHOT_RANGE",
    "NoiseLevels",
    "add_camera_noise",
    "write_synthetic_sidd_blocks",
    "write_synthetic_sidd_medium",
]

#: Range of the shot-noise parameter ``a`` (log-uniform).
SHOT_RANGE: tuple[float, float] = (2e-3, 2e-2)
_ISO_STOPS = (100, 200, 400, 800, 1600, 3200)
_PHONES = ("GP", "IP", "S6", "N6", "G4")


@dataclass(frozen=True)
class NoiseLevels:
    """Per-image noise parameters: shot ``a``, read variance ``b`` and white-balance gains (R, G, B)."""

    shot: float
    read: float
    gains: tuple[float, float, float]

    @classmethod
    def sample(cls, rng: np.random.Generator) -> NoiseLevels:
        """Random levels (see the module docstring)."""
        log_shot = rng.uniform(np.log(SHOT_RANGE[0]), np.log(SHOT_RANGE[1]))
        log_read = 2.18 * log_shot + 1.20 + rng.normal(0.0, 0.26)
        gains = (float(rng.uniform(1.9, 2.4)), 1.0, float(rng.uniform(1.5, 1.9)))
        return cls(float(np.exp(log_shot)), float(np.exp(log_read)), gains)

    @property
    def iso(self) -> int:
        """The ISO stop that stands for this shot level in a SIDD scene name."""
        lo, hi = np.log(SHOT_RANGE[0]), np.log(SHOT_RANGE[1])
        position = (np.log(self.shot) - lo) / (hi - lo)
        return _ISO_STOPS[int(np.clip(round(position * (len(_ISO_STOPS) - 1)), 0, len(_ISO_STOPS) - 1))]


def add_camera_noise(clean: np.ndarray, levels: NoiseLevels, rng: np.random.Generator) -> np.ndarray:
    """A noisy uint8 version of a clean uint8 (H, W, 3) image under ``levels`` (see the module docstring)."""
    gains = np.asarray(levels.gains, np.float64)
    raw = np.clip(to_linear(clean) / gains, 0.0, 1.0)
    noisy = levels.shot * rng.poisson(raw / levels.shot) + rng.normal(0.0, np.sqrt(levels.read), raw.shape)
    return to_uint8(noisy * gains)


def _scene_name(index: int, levels: NoiseLevels, rng: np.random.Generator) -> str:
    phone = _PHONES[int(rng.integers(len(_PHONES)))]
    shutter = int(rng.choice([50, 100, 200, 400, 800, 1600]))
    kelvin = int(rng.choice([3200, 4400, 5500]))
    brightness = "LNH"[int(rng.integers(3))]
    return f"{index:04d}_{index % 10 + 1:03d}_{phone}_{levels.iso:05d}_{shutter:05d}_{kelvin:04d}_{brightness}"


def write_synthetic_sidd_medium(root: Path | str, num_pairs: int, seed: int = 0, width: int = 128) -> Path:
    """Write ``ceil(num_pairs / 2)`` scene folders of two noisy / clean pairs under ``<root>/Data`` (staged).

    Images are ``width`` x ``3 * width / 4``; each scene has its own noise levels, each capture its own noise.

    Returns:
        ``root``.
    """
    root = Path(root)
    rng = np.random.default_rng([seed, zlib.crc32(b"sidd-medium")])
    height = max(16, round(width * 3 / 4))
    with staged_directory(root) as staging:
        for index in range(1, (num_pairs + 1) // 2 + 1):
            clean = render_scene(rng, height, width)
            levels = NoiseLevels.sample(rng)
            scene = staging / "Data" / _scene_name(index, levels, rng)
            for capture in ("010", "011"):
                write_rgb(scene / f"{index:04d}_GT_SRGB_{capture}.PNG", clean, atomic=False)
                noisy = add_camera_noise(clean, levels, rng)
                write_rgb(scene / f"{index:04d}_NOISY_SRGB_{capture}.PNG", noisy, atomic=False)
    return root


def _write_mat(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {path.stem: array}, do_compression=True)
    atomic_write_bytes(path, buffer.getvalue())


def write_synthetic_sidd_blocks(
    noisy_file: Path | str, clean_file: Path | str, num_blocks: int, seed: int = 0, block_size: int = 64
) -> None:
    """Write validation blocks as SIDD does: ``(ceil(num_blocks / 2), 2, B, B, 3)`` uint8, named like the files.

    Each image is a 2B x 2B scene with its own noise levels; its two blocks are cut at random places. The clean file
    is written last, so its presence marks a complete pair of files.
    """
    rng = np.random.default_rng([seed, zlib.crc32(b"sidd-validation")])
    images = max(1, (num_blocks + 1) // 2)
    noisy = np.zeros((images, 2, block_size, block_size, 3), np.uint8)
    clean = np.zeros_like(noisy)
    for i in range(images):
        scene = render_scene(rng, 2 * block_size, 2 * block_size)
        degraded = add_camera_noise(scene, NoiseLevels.sample(rng), rng)
        for j in range(2):
            y, x = (int(v) for v in rng.integers(0, block_size + 1, 2))
            noisy[i, j] = degraded[y : y + block_size, x : x + block_size]
            clean[i, j] = scene[y : y + block_size, x : x + block_size]
    _write_mat(Path(noisy_file), noisy)
    _write_mat(Path(clean_file), clean)
