"""Trackers: ``build_tracker(cfg, model)`` picks ``cfg.TRACK.TYPE`` from the TRACKERS registry.

All trackers follow the contract in :mod:`pysot.tracker.base_tracker`:
``init(img, [x, y, w, h])`` then ``track(img) -> {"bbox": [x, y, w, h], "best_score": float, ...}``
on ``H x W x 3`` uint8 BGR frames.
"""
from __future__ import annotations

from typing import Optional

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
from pysot.tracker.vit_tracker import VitTracker

__all__ = ["build_tracker", "BaseTracker", "SiamRPNTracker", "SiamRPNLTTracker", "SiamMaskTracker",
           "SiamFCTracker", "DaSiamRPNTracker", "MultiTracker", "NanoTracker", "VitTracker"]


def build_tracker(cfg, model: torch.nn.Module, fast: Optional[bool] = None) -> BaseTracker:
    """The tracker named by ``cfg.TRACK.TYPE``, its keyword arguments taken from ``cfg``.

    The model should already sit on its device; inputs follow it.

    ``fast`` (default ``cfg.TRACK.FAST``, on): track with
    :func:`~pysot.models.fast.optimize_for_inference`'s copy of ``model`` where that is
    exact, i.e. a ``ModelBuilder`` on the CPU in float32 (every family parity-tested against
    its original code, NanoTrack on the real sequences). The copy is taken
    now: later changes to ``model``'s weights are not seen (pass ``fast=False``).
    ``fast=True`` also applies it on CUDA (TF32 / cuDNN may round differently).
    """
    cls = TRACKERS.get(cfg.TRACK.TYPE)
    where = f"{cfg.get('CONFIG_FILE', 'config')}: TRACK.TYPE"
    model = _inference_model(cfg, model, fast)
    kwargs = dict(cls.config_kwargs(cfg), model=model)
    return TRACKERS.build(cfg.TRACK.TYPE, kwargs, where=where)


def _inference_model(cfg, model: torch.nn.Module, fast: Optional[bool]) -> torch.nn.Module:
    """``model`` or its fast-path copy, following :func:`build_tracker`'s ``fast`` rule."""
    from pysot.models.fast import FastModel, optimize_for_inference
    from pysot.models.model_builder import ModelBuilder
    from pysot.utils.model_load import model_device

    if getattr(model, "one_stream", False) and fast is not False:
        return _one_stream_inference_model(cfg, model, fast)
    if fast is False or isinstance(model, FastModel) or not isinstance(model, ModelBuilder):
        return model
    device = model_device(model)
    if fast is None:
        if not bool(cfg.TRACK.get("FAST", True)) or device.type != "cpu":
            return model
        if any(p.dtype != torch.float32 for p in model.parameters()):
            return model  # exactness is only established for float32
    return optimize_for_inference(model, device, search_size=int(cfg.TRACK.INSTANCE_SIZE))


def _one_stream_inference_model(cfg, model: torch.nn.Module, fast: Optional[bool]) -> torch.nn.Module:
    """A one-stream model's fast copy: BatchNorm folded into the convolutions and the activations fused
    (what OpenCV's DNN engine does to the exported graph), on the CPU in float32 unless ``fast=True``."""
    import copy

    from pysot.models.fast.fold import fold_and_fuse
    from pysot.utils.model_load import model_device

    device = model_device(model)
    if fast is None and (not bool(cfg.TRACK.get("FAST", True)) or device.type != "cpu"
                         or any(p.dtype != torch.float32 for p in model.parameters())):
        return model
    fast_model = copy.deepcopy(model).eval()
    t, s = fast_model.template_size, fast_model.search_size
    z = torch.zeros(1, 3, t, t, device=device)
    x = torch.zeros(1, 3, s, s, device=device)
    with torch.no_grad():
        fold_and_fuse(fast_model, lambda m: m.forward_maps(z, x))
    return fast_model
