"""Stage 1, pretraining adaptation: text-to-image fine-tuning on images with random marks (PAPER.md)."""
