"""Diffusion pieces: the UNet, conditioning dropout, classifier-free guidance and the sampler."""
