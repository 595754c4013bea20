"""Learned post-processing decoders (PAPER.md "Decoding"): a small U-Net reads generated images into a task's maps.

- :mod:`idiff.decoders.network`: the timm-encoder U-Net;
- :mod:`idiff.decoders.degradation`: encoded targets made to look like diffusion outputs;
- :mod:`idiff.decoders.module`: the LightningModule that trains it;
- :mod:`idiff.decoders.training`: ``idiff fit stage=decoder task=<name>``;
- :mod:`idiff.decoders.learned`: loading a trained decoder and reading generated images at test time.

A task opts in through :meth:`idiff.tasks.api.Task.learned_decoding` (channels, training samples, label maps of a
request, maps -> prediction); the core knows no task by name.
"""
