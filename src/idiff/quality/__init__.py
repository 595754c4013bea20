"""Image-quality scores used to filter editing data and to score edits (GIQA, aesthetics, CLIP similarity).

- :mod:`idiff.quality.image_features`, :mod:`idiff.quality.giqa`: timm backbone features and KNN-GIQA;
- :mod:`idiff.quality.clip_scores`: CLIP image and text embeddings in batches, and the similarities built on them
  (CLIP-I between images, CLIP-T between an image and a caption, the directional CLIP similarity of an edit);
- :mod:`idiff.quality.aesthetic`: the LAION improved aesthetic predictor, an MLP over L2-normalised CLIP ViT-L/14
  image embeddings (PAPER.md "Editing-data filtering" and the editing evaluation).

All read weights the user already has; nothing is downloaded, and a missing or wrong path is a
:class:`~idiff.errors.ConfigError` naming the option to set.
"""
