"""Where the tests find the repository and ../shared (``PYSOT_SHARED`` overrides).

A module of its own, imported as ``from shared_paths import SHARED``: ``from conftest import``
would find whichever of the several ``conftest.py`` files under ``tests/`` was collected first.
"""
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("PYSOT_SHARED", os.path.join(REPO, "..", "shared"))
SHARED_DATA = os.path.join(SHARED, "data")
