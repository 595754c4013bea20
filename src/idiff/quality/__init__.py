"""Image-quality scores used to filter editing data and to score edits (GIQA, aesthetics, CLIP similarity)."""
