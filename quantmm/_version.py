"""The quantmm version (read by setuptools at build time and by ``quantmm --version``)."""

__version__ = "0.1.0"
