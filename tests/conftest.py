import os
import sys

import pytest

import pysot  # noqa: F401  (before torch: idle OpenMP threads sleep, as for users)
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
# tests/parity.py is a helper module for the test files, not an installed package.
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from shared_paths import REPO, SHARED, SHARED_DATA  # noqa: E402,F401  (after the sys.path entry above)

from pysot.utils.threads import configure_threads  # noqa: E402

configure_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def shared_dir():
    """Path of ../shared (data, weights, parity); the test is skipped where it is absent.

    Module-level code imports ``SHARED`` from ``shared_paths`` instead (never from conftest).
    """
    if not os.path.isdir(SHARED):
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture
def shared_data():
    """Path of ../shared/data; the test is skipped where it is absent."""
    if not os.path.isdir(SHARED_DATA):
        pytest.skip("../shared/data is not present")
    return SHARED_DATA



@pytest.fixture
def log_messages():
    """Messages logged under the ``pysot`` logger (its handler does not propagate to pytest's)."""
    import logging

    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Collect()
    logging.getLogger("pysot").addHandler(handler)
    yield records
    logging.getLogger("pysot").removeHandler(handler)
