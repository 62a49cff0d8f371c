"""Evaluation toolkit: benchmark loaders (:mod:`toolkit.datasets`), metrics
(:mod:`toolkit.evaluation`), plots (:mod:`toolkit.visualization`), tolerant
result I/O and NumPy overlaps (:mod:`toolkit.utils`), and the runners behind
``tools/test.py`` (:mod:`toolkit.runner`) and ``tools/hp_search.py``
(:mod:`toolkit.hp_search`). Conventions: docs/toolkit.md.
"""
