"""Image-quality scores from pretrained feature extractors, read only from local folders (never downloaded).

- :mod:`idiff.quality.clip_scores`: CLIP image and text embeddings in batches, and the similarities built on them
  (CLIP-I between images, CLIP-T between an image and a caption, the directional CLIP similarity of an edit);
- :mod:`idiff.quality.aesthetic`: the LAION improved aesthetic predictor, an MLP over L2-normalised CLIP ViT-L/14
  image embeddings (PAPER.md "Editing-data filtering" and the editing evaluation).

Both take the paths of weights the user already has; a missing or wrong path is a
:class:`~idiff.errors.ConfigError` naming the option to set.
"""
