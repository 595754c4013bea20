"""idiff-enhancement: image enhancement as instruction-guided image editing (InstructDiffusion).

Three task plugins, found by idiff through the ``idiff.tasks`` entry points:

- ``denoise``: :class:`idiff_enhancement.denoise_task.DenoiseTask` (SIDD-Medium sRGB, SIDD validation blocks);
- ``deblur``: :class:`idiff_enhancement.deblur_task.DeblurTask` (GoPro, REDS);
- ``watermark_removal``: :class:`idiff_enhancement.watermark_task.WatermarkRemovalTask` (CLWD).

Each is scored with PSNR and SSIM at the images' full resolution. Modules: :mod:`~idiff_enhancement.images`
(reading / writing, errors naming the file), :mod:`~idiff_enhancement.pairs` (degraded / clean pairs),
:mod:`~idiff_enhancement.sidd`, :mod:`~idiff_enhancement.gopro` (GoPro and REDS), :mod:`~idiff_enhancement.clwd`
(readers of the real layouts), :mod:`~idiff_enhancement.tiling` (full-resolution evaluation by tiles),
:mod:`~idiff_enhancement.metrics` (PSNR, SSIM), :mod:`~idiff_enhancement.weighting` (per-dataset sample weights),
:mod:`~idiff_enhancement.dataset` (training crops), :mod:`~idiff_enhancement.templates` (instructions),
:mod:`~idiff_enhancement.scenes`, :mod:`~idiff_enhancement.gamma`, :mod:`~idiff_enhancement.synthetic_noise`,
:mod:`~idiff_enhancement.synthetic_blur`, :mod:`~idiff_enhancement.synthetic_watermark` (synthetic data in the real
layouts). Importing the package itself is cheap: it imports none of them.
"""

__version__ = "0.1.0"
