"""Applications built on the library: they may import any part of ``pysot`` (and ``toolkit``); nothing
in ``pysot`` imports them. :mod:`pysot.apps.benchmark` is the harness behind ``tools/benchmark.py``."""
