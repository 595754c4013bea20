"""idiff-keypoints: keypoint detection as instruction-guided image editing (InstructDiffusion).

The task plugin is :class:`idiff_keypoints.task.KeypointsTask`, found by idiff through the ``idiff.tasks``
entry point ``keypoints``. Modules: :mod:`~idiff_keypoints.layouts` (joint names, flip pairs, OKS sigmas),
:mod:`~idiff_keypoints.catalogue` (COCO, CrowdPose, MPII, AIC, AP-10K, HumanArt layouts),
:mod:`~idiff_keypoints.coco` (COCO-format reader), :mod:`~idiff_keypoints.aic` / :mod:`~idiff_keypoints.mpii`
(their releases converted to COCO form), :mod:`~idiff_keypoints.readers` (format dispatch),
:mod:`~idiff_keypoints.crops` (top-down crops, augmentation),
:mod:`~idiff_keypoints.encoding` / :mod:`~idiff_keypoints.templates` (coloured disks and instructions),
:mod:`~idiff_keypoints.decoding` (generated image -> keypoints), :mod:`~idiff_keypoints.evaluation`
(COCO results, OKS AP), :mod:`~idiff_keypoints.synthetic` (stick figures in those formats and layouts).
Importing the package itself is cheap: it imports none of them.
"""

__version__ = "0.1.0"
