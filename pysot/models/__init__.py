"""Models: backbones, necks, heads and :func:`build_model`."""
from pysot.models.model_builder import ModelBuilder, build_model

__all__ = ["ModelBuilder", "build_model"]
