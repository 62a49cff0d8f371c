"""Compatibility alias: the frame sources and video writing moved to :mod:`pysot.io.video`.

Kept because ``pysot.tracker.video`` was documented; this name is the same module
object, so attributes (and monkeypatches) are shared. New code imports
``pysot.io.video``.
"""
import sys

from pysot.io import video as _video

sys.modules[__name__] = _video
