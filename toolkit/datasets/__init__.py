"""Benchmark loaders, registered by name in ``pysot.core.registry.DATASETS``.

``build_dataset("OTB100", root)`` picks the loader by its registered name
(case-insensitive); no substring matching on names.
"""
from __future__ import annotations

from pysot.core.registry import DATASETS

from . import got10k, lasot, nfs, otb, trackingnet, uav, vot  # noqa: F401  (registration)
from .video import Dataset, DatasetError, Video


def build_dataset(name: str, root: str) -> Dataset:
    """The benchmark ``name`` (e.g. ``OTB100``, ``VOT2018``, ``LaSOT``) read from ``root``."""
    loader = DATASETS.get(name)
    # Several names share one loader (VOT2016/2018/2019); the name selects the edition.
    canonical = next((n for n in DATASETS if n.lower() == name.lower()), name)
    return loader(root=root, name=canonical)


__all__ = ["DATASETS", "Dataset", "DatasetError", "Video", "build_dataset"]
