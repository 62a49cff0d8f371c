"""Compatibility alias: the speed harness moved to :mod:`pysot.apps.benchmark`.

It measures models, trackers and the toolkit runner, so it lives above them
rather than among the utilities they import. This name is the same module
object; new code imports ``pysot.apps.benchmark``.
"""
import sys

from pysot.apps import benchmark as _benchmark

sys.modules[__name__] = _benchmark
