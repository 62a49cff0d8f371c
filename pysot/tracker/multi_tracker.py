"""Batched multi-target tracking: N targets of one video, one network forward per frame.

Each target keeps its own single-target tracker (its own centre, size,
template crop, long-term state, ...); :class:`MultiTracker` only batches the
network calls: the N template crops go through ``model.template`` as one
``[N, 3, 127, 127]`` batch at ``init``, and every frame the N search crops go
through ``model.track`` as one ``[N, 3, S, S]`` batch (row ``b`` is matched with
template ``b``). Post-processing is the single tracker's own code, so the
results equal those of N independent trackers up to float32 rounding of the
batched convolutions.

Targets whose search crops differ in size on a frame (the long-term tracker
enlarges the crop of a lost target) are run as one batch per crop size; the
template batch is re-computed when the subset changes.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from pysot.core.registry import TRACKERS
from pysot.tracker.base_tracker import prepare_frame, validate_init_box
from pysot.tracker.siamrpn_lt_tracker import SiamRPNLTTracker
from pysot.tracker.siamrpn_tracker import SiamRPNTracker
from pysot.utils.model_load import model_device

# Per-target trackers whose only use of the network per frame is one ``track`` call
# (DaSiamRPN's distractor re-ranking and SiamMask's refinement call it again per target).
SUPPORTED_TARGET_TRACKERS = (SiamRPNTracker, SiamRPNLTTracker)


class _TemplateRecorder:
    """Stand-in model of one target's tracker: lends the real model's device and records nothing.

    The target tracker calls ``template(z)`` in ``init``; the crop it keeps
    (``z_crop``) is what the batched template call uses. ``track`` must never be
    reached: the multi-tracker calls the network itself.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self._model = model

    def parameters(self):
        return self._model.parameters()

    def eval(self) -> "_TemplateRecorder":
        return self

    def template(self, z: torch.Tensor) -> None:
        pass

    def track(self, x: torch.Tensor):  # pragma: no cover - guarded by SUPPORTED_TARGET_TRACKERS
        raise RuntimeError("MultiTracker: a target tracker tried to run the network by itself")


def _box_rows(boxes) -> List[Sequence[float]]:
    """The rows of an ``[N, 4]`` box array or list; a flat ``[x, y, w, h]`` is refused, naming it."""
    if isinstance(boxes, (str, bytes)) or not hasattr(boxes, "__len__"):
        raise ValueError(f"MultiTracker.init: boxes {boxes!r}: expected [N, 4] rows of x, y, w, h")
    rows = list(boxes)
    if not rows:
        raise ValueError("MultiTracker.init: no target boxes given (expected [N, 4] x, y, w, h)")
    if all(np.ndim(row) == 0 for row in rows):
        # One box passed without its list: it would otherwise be read as N targets of one number each.
        raise ValueError(f"MultiTracker.init: boxes {rows!r} is one flat box; pass [N, 4] rows, "
                         f"e.g. [{rows!r}] for a single target")
    return rows


@TRACKERS.register()
class MultiTracker:
    """Track ``N`` targets with one batched forward per frame.

    Args:
        model: a ``pysot.models`` model (or its :func:`~pysot.models.fast.optimize_for_inference` copy).
        target_tracker: registered name of the per-target tracker: ``"SiamRPNTracker"``
            or ``"SiamRPNLTTracker"``.
        **tracker_kwargs: keyword arguments of that tracker (anchors, sizes, penalties, ...).

    ``init(img, boxes)`` with ``boxes`` ``[N, 4]`` ``x, y, w, h`` (0-based);
    ``track(img)`` returns a list of N dicts, each what the single tracker's
    ``track`` returns (``"bbox"``, ``"best_score"``, and ``"lost"`` for the
    long-term tracker). Images are ``H x W x 3`` uint8 BGR.
    """

    HEAD = "anchors"  # its per-target trackers are SiamRPN ones

    def __init__(self, model: torch.nn.Module, *, target_tracker: str = "SiamRPNTracker", **tracker_kwargs) -> None:
        tracker_cls = TRACKERS.get(target_tracker)
        if tracker_cls not in SUPPORTED_TARGET_TRACKERS:
            names = ", ".join(c.__name__ for c in SUPPORTED_TARGET_TRACKERS)
            raise ValueError(f"MultiTracker: target_tracker {target_tracker!r} is not supported (one of {names}); "
                             f"its per-target steps call the network more than once per frame")
        self.model = model
        self.model.eval()
        self.tracker_cls = tracker_cls
        self.tracker_kwargs = dict(tracker_kwargs)
        tracker_cls(_TemplateRecorder(model), **self.tracker_kwargs)  # check the kwargs now, not at init()
        self.targets: List[SiamRPNTracker] = []
        self._templated: Optional[Tuple[int, ...]] = None  # target indices of the model's template batch

    # ---------------------------------------------------------------- construction
    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:
        """Per-target tracker: ``cfg.TRACK.TYPE`` when it is supported, else ``SiamRPNTracker``."""
        name = cfg.TRACK.TYPE
        target = TRACKERS.get(name) if name in TRACKERS else None
        tracker_cls = target if target in SUPPORTED_TARGET_TRACKERS else SiamRPNTracker
        return dict(tracker_cls.config_kwargs(cfg), target_tracker=tracker_cls.__name__)

    @classmethod
    def from_config(cls, cfg, model: torch.nn.Module) -> "MultiTracker":
        return cls(model, **cls.config_kwargs(cfg))

    @property
    def device(self) -> torch.device:
        return model_device(self.model)

    def __len__(self) -> int:
        return len(self.targets)

    # ---------------------------------------------------------------- init / track
    @torch.no_grad()
    def init(self, img: np.ndarray, boxes: Sequence[Sequence[float]]) -> None:
        """Start one target per row of ``boxes`` (``[N, 4]`` ``x, y, w, h``) in ``img``."""
        img = prepare_frame(img, "init frame")
        boxes = _box_rows(boxes)
        for index, box in enumerate(boxes):
            try:
                validate_init_box(box, img.shape)
            except ValueError as e:
                raise ValueError(f"MultiTracker.init: target {index}: {e}") from None
        targets = []
        for box in boxes:
            target = self.tracker_cls(_TemplateRecorder(self.model), **self.tracker_kwargs)
            target.init(img, box)
            targets.append(target)
        self.targets = targets
        self._templated = None
        self._use_templates(tuple(range(len(targets))))

    def _use_templates(self, indices: Tuple[int, ...]) -> None:
        if indices != self._templated:
            self.model.template(torch.cat([self.targets[i].z_crop for i in indices]))
            self._templated = indices

    @torch.no_grad()
    def track(self, img: np.ndarray) -> List[Dict[str, object]]:
        """Track every target in ``img``; one result dict per target, in ``init`` order."""
        if not self.targets:
            raise RuntimeError("MultiTracker.track() called before init()")
        frames = [target._next_frame(img) for target in self.targets]
        groups: "OrderedDict[int, List[int]]" = OrderedDict()
        for index, target in enumerate(self.targets):
            groups.setdefault(target._instance_size(), []).append(index)
        results: List[Optional[Dict[str, object]]] = [None] * len(self.targets)
        for instance_size, indices in groups.items():
            crops = [self.targets[i]._search_crop(frames[i], instance_size) for i in indices]
            self._use_templates(tuple(indices))
            outputs = self.model.track(torch.cat([x_crop for x_crop, _, _ in crops]))
            for row, (index, (x_crop, s_x, scale_z)) in enumerate(zip(indices, crops)):
                target = self.targets[index]
                own = {k: (v[row : row + 1] if v is not None else None) for k, v in outputs.items()}
                results[index] = target._finish(target._proposals(own, x_crop, s_x, scale_z, instance_size))
        return results  # type: ignore[return-value]
