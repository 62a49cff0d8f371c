"""Benchmark loaders, registered by name in ``pysot.core.registry.DATASETS``.

``build_dataset("OTB100", root)`` picks the loader by its registered name
(case-insensitive); no substring matching on names.
"""
from __future__ import annotations

import os

from pysot.core.registry import DATASETS

from . import got10k, lasot, nfs, otb, trackingnet, uav, vot  # noqa: F401  (registration)
from .video import Dataset, DatasetError, Video


def canonical_name(name: str) -> str:
    """The registered spelling of a benchmark name (``otb100`` -> ``OTB100``; an unknown name as
    given, for :func:`build_dataset` to reject). Result folders use it: ``results/OTB100/...``."""
    return next((n for n in DATASETS if n.lower() == name.lower()), name)


def build_dataset(name: str, root: str) -> Dataset:
    """The benchmark ``name`` (e.g. ``OTB100``, ``VOT2018``, ``LaSOT``) read from ``root``."""
    loader = DATASETS.get(name)
    if not os.path.exists(root):
        raise DatasetError(f"--dataset-root {root}: no such folder (or annotation json)")
    # Several names share one loader (VOT2016/2018/2019); the name selects the edition.
    return loader(root=root, name=canonical_name(name))


__all__ = ["DATASETS", "Dataset", "DatasetError", "Video", "build_dataset", "canonical_name"]
