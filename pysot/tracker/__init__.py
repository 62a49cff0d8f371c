"""Trackers: ``build_tracker(cfg, model)`` picks ``cfg.TRACK.TYPE`` from the TRACKERS registry.

All trackers follow the contract in :mod:`pysot.tracker.base_tracker`:
``init(img, [x, y, w, h])`` then ``track(img) -> {"bbox": [x, y, w, h], "best_score": float, ...}``
on ``H x W x 3`` uint8 BGR frames.
"""
from __future__ import annotations

import torch

from pysot.core.registry import TRACKERS
from pysot.tracker.base_tracker import BaseTracker
from pysot.tracker.dasiamrpn_tracker import DaSiamRPNTracker
from pysot.tracker.multi_tracker import MultiTracker
from pysot.tracker.nano_tracker import NanoTracker
from pysot.tracker.siamfc_tracker import SiamFCTracker
from pysot.tracker.siammask_tracker import SiamMaskTracker
from pysot.tracker.siamrpn_lt_tracker import SiamRPNLTTracker
from pysot.tracker.siamrpn_tracker import SiamRPNTracker

__all__ = ["build_tracker", "BaseTracker", "SiamRPNTracker", "SiamRPNLTTracker", "SiamMaskTracker",
           "SiamFCTracker", "DaSiamRPNTracker", "MultiTracker", "NanoTracker"]


def build_tracker(cfg, model: torch.nn.Module) -> BaseTracker:
    """The tracker named by ``cfg.TRACK.TYPE``, its keyword arguments taken from ``cfg``.

    The model should already sit on its device; inputs follow it.
    """
    cls = TRACKERS.get(cfg.TRACK.TYPE)
    where = f"{cfg.get('CONFIG_FILE', 'config')}: TRACK.TYPE"
    kwargs = dict(cls.config_kwargs(cfg), model=model)
    return TRACKERS.build(cfg.TRACK.TYPE, kwargs, where=where)
