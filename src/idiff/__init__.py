"""idiff: vision tasks as instruction-guided image editing (InstructDiffusion, Geng et al., CVPR 2024)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("idiff")
except PackageNotFoundError:  # pragma: no cover - source checkout without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
