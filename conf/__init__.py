"""Hydra configs of idiff, shipped inside the wheel as the package ``idiff.conf``."""
