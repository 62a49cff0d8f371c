"""Necks (cfg.ADJUST.TYPE); importing this package registers them in NECKS."""
from pysot.models.neck.adjust import AdjustAllLayer, AdjustLayer, NanoAdjustLayer

__all__ = ["AdjustLayer", "AdjustAllLayer", "NanoAdjustLayer"]
