"""Hydra configs of idiff, shipped inside the wheel as the package ``idiff.conf``.

Importing it registers the OmegaConf resolvers the configs use (``${idiff.per_device_batch:...}``,
``${idiff.accumulation:...}``, :mod:`idiff.batching`); Hydra imports it to read the configs.
"""

from idiff.batching import register_resolvers

register_resolvers()
