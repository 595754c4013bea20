"""idiff-segmentation: referring and semantic segmentation as instruction-guided image editing (InstructDiffusion).

Two task plugins, found by idiff through the ``idiff.tasks`` entry points:

- ``referring_segmentation``: :class:`idiff_segmentation.referring_task.ReferringSegmentationTask`
  (RefCOCO, RefCOCO+, RefCOCOg in the REFER layout; gRefCOCO), scored with cIoU and mean IoU;
- ``semantic_segmentation``: :class:`idiff_segmentation.semantic_task.SemanticSegmentationTask`
  (COCO-Stuff, ADE20K), scored with mcIoU and mIoU.

Modules: :mod:`~idiff_segmentation.encoding` / :mod:`~idiff_segmentation.templates` (coloured overlay and
instructions), :mod:`~idiff_segmentation.decoding` (generated image -> mask), :mod:`~idiff_segmentation.masks`
(pycocotools masks, resizing), :mod:`~idiff_segmentation.safepickle` (restricted unpickler),
:mod:`~idiff_segmentation.refer` (REFER / gRefCOCO reader), :mod:`~idiff_segmentation.labelmaps` (COCO-Stuff /
ADE20K reader), :mod:`~idiff_segmentation.evaluation` (metrics), :mod:`~idiff_segmentation.datasets` (training
samples), :mod:`~idiff_segmentation.synthetic_refer` and :mod:`~idiff_segmentation.synthetic_stuff` (synthetic
data in the real layouts). Importing the package itself is cheap: it imports none of them.
"""

__version__ = "0.1.0"
