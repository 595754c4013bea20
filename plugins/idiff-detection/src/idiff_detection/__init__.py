"""idiff-detection: object detection as instruction-guided image editing, InstructDiffusion's unseen task.

The task plugin is :class:`idiff_detection.task.DetectionTask`, found by idiff through the ``idiff.tasks`` entry
point ``detection``. Modules: :mod:`~idiff_detection.instances` (COCO instances reader),
:mod:`~idiff_detection.marks` / :mod:`~idiff_detection.templates` (the coloured mark and its instructions),
:mod:`~idiff_detection.boxes` (generated image -> boxes), :mod:`~idiff_detection.evaluation` (COCO results, box AP),
:mod:`~idiff_detection.dataset` (training samples), :mod:`~idiff_detection.synthetic` (shapes in the COCO layout),
:mod:`~idiff_detection.config`, :mod:`~idiff_detection.task`. It imports only idiff's public plugin API
(``idiff.tasks.api``, ``idiff.errors``, ``idiff.files``). Importing the package itself is cheap: it imports none of
them.
"""

__version__ = "0.1.0"
