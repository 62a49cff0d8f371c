"""Trackers: ``build_tracker(cfg, model)`` picks ``cfg.TRACK.TYPE`` from the TRACKERS registry.

All trackers follow the contract in :mod:`pysot.tracker.base_tracker`:
``init(img, [x, y, w, h])`` then ``track(img) -> {"bbox": [x, y, w, h], "best_score": float, ...}``
on ``H x W x 3`` uint8 BGR frames.
"""
from __future__ import annotations

from typing import Optional

import torch

from pysot.core.config import ConfigError
from pysot.core.registry import TRACKERS, RegistryError
from pysot.tracker.base_tracker import BaseTracker
from pysot.tracker.dasiamrpn_tracker import DaSiamRPNTracker
from pysot.tracker.multi_tracker import MultiTracker
from pysot.tracker.nano_tracker import NanoTracker
from pysot.tracker.siamfc_tracker import SiamFCTracker
from pysot.tracker.siammask_tracker import SiamMaskTracker
from pysot.tracker.siamrpn_lt_tracker import SiamRPNLTTracker
from pysot.tracker.siamrpn_tracker import SiamRPNTracker
from pysot.tracker.vit_tracker import VitTracker
from pysot.utils.threads import use_default_threads

__all__ = ["build_tracker", "check_tracker_type", "BaseTracker", "SiamRPNTracker", "SiamRPNLTTracker", "SiamMaskTracker",
           "SiamFCTracker", "DaSiamRPNTracker", "MultiTracker", "NanoTracker", "VitTracker"]


def build_tracker(cfg, model: torch.nn.Module, fast: Optional[bool] = None,
                  precision: Optional[str] = None) -> BaseTracker:
    """The tracker named by ``cfg.TRACK.TYPE``, its keyword arguments taken from ``cfg``.

    The model should already sit on its device; inputs follow it. The first tracker built in a
    process also picks torch's CPU threads for a shared machine, unless the caller chose them
    (:func:`pysot.utils.threads.use_default_threads`).

    ``fast`` (default ``cfg.TRACK.FAST``, on): track with
    :func:`~pysot.models.fast.optimize_for_inference`'s copy of ``model`` where that is
    exact, i.e. a ``ModelBuilder`` on the CPU in float32 (every family parity-tested against
    its original code, NanoTrack on the real sequences). The copy is taken
    now: later changes to ``model``'s weights are not seen (pass ``fast=False``).
    ``fast=True`` also applies it on CUDA (TF32 / cuDNN may round differently).

    ``precision`` (default ``cfg.TRACK.PRECISION``, ``"float32"``): ``"bf16"`` tracks with the
    fast-path copy under bfloat16 autocast, on CUDA or on a CPU with bf16 instructions
    (``ValueError`` elsewhere, and for ``fast=False``): faster where the network's
    arithmetic dominates, not parity-exact (docs/speed.md measures its cost).
    """
    cls = check_tracker_type(cfg)
    where = f"{cfg.get('CONFIG_FILE', 'config')}: TRACK.TYPE"
    check_head_fits(cls, model, where)
    use_default_threads()  # once per process, never over the caller's choice: pysot.utils.threads
    precision = str(precision or cfg.TRACK.get("PRECISION", "float32"))
    if precision == "bf16":
        model = _bf16_model(cfg, model, fast)
    elif precision != "float32":
        raise ValueError(f"precision {precision!r}: use float32 or bf16")
    else:
        model = _inference_model(cfg, model, fast)
    kwargs = dict(cls.config_kwargs(cfg), model=model)
    return TRACKERS.build(cfg.TRACK.TYPE, kwargs, where=where)


def model_head_kind(model: torch.nn.Module) -> Optional[str]:
    """What ``model``'s head outputs: ``"points"`` (BAN head, NanoTrack), ``"score map"``
    (SiamFC's head), ``"anchors"`` (an RPN head) or ``"centre map"`` (a one-stream model's centre
    head, VitTrack); ``None`` for a model that is no
    :class:`~pysot.models.model_builder.ModelBuilder` (an exported graph, a test double)."""
    from pysot.models.fast import FastModel
    from pysot.models.head.siamfc import SiamFCHead
    from pysot.models.model_builder import ModelBuilder

    inner = model.model if isinstance(model, FastModel) else model
    if getattr(inner, "one_stream", False):
        return "centre map"
    if not isinstance(inner, ModelBuilder):
        return None
    if inner.is_point_based:
        return "points"
    return "score map" if isinstance(inner.head, SiamFCHead) else "anchors"


def check_head_fits(cls, model: torch.nn.Module, where: str = "TRACK.TYPE") -> None:
    """Raise ``ValueError`` when tracker class ``cls`` cannot read ``model``'s output: a SiamFC
    tracker on an RPN model would take anchor logits for a score map and track with
    meaningless scores, without any error."""
    kind = model_head_kind(model)
    if kind is None:
        return
    wanted = getattr(cls, "HEAD", None)
    inner = getattr(model, "model", model)
    head = type(getattr(inner, "head", inner)).__name__
    if wanted is not None and wanted != kind:
        has_mask = bool(getattr(model, "has_mask", False))
        fits = ", ".join(n for n in TRACKERS if getattr(TRACKERS.get(n), "HEAD", None) == kind
                         and (has_mask or not getattr(TRACKERS.get(n), "NEEDS_MASK", False)))
        raise ValueError(f"{where}: {cls.__name__} reads {wanted} but the model's head ({head}) outputs {kind}; "
                         f"trackers for this model: {fits}")
    if getattr(cls, "NEEDS_MASK", False) and not getattr(model, "has_mask", False):
        raise ValueError(f"{where}: {cls.__name__} needs a mask head (MASK.MASK True), the model has none")
def check_tracker_type(cfg) -> type:
    """The tracker class ``cfg.TRACK.TYPE`` names; a :class:`~pysot.core.config.ConfigError` naming the
    YAML, the key and the registered trackers otherwise.

    Checked here rather than when the config is loaded, so that loading a config imports no
    tracker (nor the models they import); the tools call it before building the model.
    """
    try:
        return TRACKERS.get(cfg.TRACK.TYPE)
    except RegistryError as e:
        raise ConfigError(f"{cfg.get('CONFIG_FILE', 'config')}: TRACK.TYPE: {e}") from None


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


def cpu_has_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _bf16_model(cfg, model: torch.nn.Module, fast: Optional[bool]) -> torch.nn.Module:
    """The fast-path copy of ``model`` under bfloat16 autocast (``TRACK.PRECISION bf16``)."""
    from pysot.models.fast import FastModel, optimize_for_inference
    from pysot.models.model_builder import ModelBuilder
    from pysot.utils.model_load import model_device

    if fast is False:
        raise ValueError("precision bf16 runs on the fast path: it cannot be combined with fast=False (--no-fast)")
    if isinstance(model, FastModel):
        if model.amp_dtype != torch.bfloat16:
            raise ValueError("precision bf16: the model is a fast-path copy built without amp='bf16'")
        return model
    if not isinstance(model, ModelBuilder):
        raise ValueError(f"precision bf16 needs a pysot ModelBuilder, got {type(model).__name__}")
    device = model_device(model)
    if device.type == "cpu" and not cpu_has_bf16():
        raise ValueError("precision bf16: this CPU has no bfloat16 instructions (AVX512-BF16 or AMX); "
                         "use float32")
    return optimize_for_inference(model, device, search_size=int(cfg.TRACK.INSTANCE_SIZE), amp="bf16")


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
