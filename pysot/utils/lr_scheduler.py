"""Per-epoch learning-rate schedules (warm-up then step / log / cos / linear / multi-step).

A schedule is a list with one LR per epoch. Parameter groups keep their own
multiplier (``group["lr_mult"]``, e.g. the backbone's LAYERS_LR), applied on top.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from pysot.config import ConfigError


def epoch_lrs(kind: str, epochs: int, **kwargs) -> List[float]:
    """:func:`lr_space` as a list of floats."""
    return [float(v) for v in lr_space(kind, epochs, **kwargs)]


def lr_space(kind: str, epochs: int, **kwargs) -> np.ndarray:
    """LRs ``[epochs]`` of ``epochs`` epochs for one schedule ``kind``, as the original PySOT computes them.

    - ``log``: ``start_lr`` to ``end_lr`` evenly in log space.
    - ``step``: ``start_lr * mult ** (epoch // step)``; with ``end_lr`` (a warm-up) ``mult =
      (end_lr / start_lr) ** (1 / (epochs // step))``, so the last epoch stays one step short of
      ``end_lr`` (the original's warm-up: r50 epoch 4 is 0.0036239, not 0.005).
    - ``multi-step``: ``start_lr * mult ** (number of steps <= epoch)`` (``steps``; ``milestones``
      is accepted as another name), in float32 like the original.
    - ``cos``: half cosine from ``start_lr`` to ``end_lr``, in float32 like the original.
    - ``linear``: straight line from ``start_lr`` to ``end_lr``.
    """
    if epochs <= 0:
        return np.zeros(0)
    kw = {k.lower(): v for k, v in kwargs.items()}
    try:
        start = float(kw["start_lr"])
    except KeyError:
        raise ValueError(f"LR schedule '{kind}': KWARGS needs start_lr") from None
    end = kw.get("end_lr")
    if kind == "log":
        end = float(start * 0.1 if end is None else end)
        lrs = np.logspace(math.log10(start), math.log10(end), epochs)
    elif kind == "step":
        step = int(kw.get("step", 10))
        mult = float(kw.get("mult", 0.1))
        if end is not None:
            if epochs // step < 1:
                raise ValueError(f"'step' schedule of {epochs} epochs with step {step} cannot reach end_lr")
            mult = math.pow(float(end) / start, 1.0 / (epochs // step))
        lrs = start * (mult ** (np.arange(epochs) // step))
    elif kind == "multi-step":
        steps = [int(m) for m in kw.get("steps", kw.get("milestones", [10, 20, 30, 40]))]
        mult = float(kw.get("mult", 0.5))
        if end is not None:
            mult = math.pow(float(end) / start, 1.0 / len(steps))
        lr = [start] * epochs
        for i in range(1, epochs):
            lr[i] = lr[i - 1] * mult if i in steps else lr[i - 1]
        lrs = np.array(lr, dtype=np.float32)
    elif kind == "cos":
        end = float(0.005 if end is None else end)
        index = np.arange(epochs).astype(np.float32)
        lrs = (end + (start - end) * (1.0 + np.cos(index * np.pi / epochs)) * 0.5).astype(np.float32)
    elif kind == "linear":
        end = float(0.005 if end is None else end)
        lrs = np.linspace(start, end, epochs)
    else:
        raise ValueError(f"unknown LR schedule '{kind}' (known: log, step, multi-step, cos, linear)")
    # The dtype is kept (float32 for cos / multi-step): the original's rates are computed with it.
    return np.asarray(lrs)


def build_epoch_lrs(epochs: int, kind: str, kwargs: Dict, warmup: bool = False, warmup_kind: str = "step",
                    warmup_epochs: int = 0, warmup_kwargs: Optional[Dict] = None) -> List[float]:
    """The full schedule: ``warmup_epochs`` of warm-up (if enabled) then ``kind`` for the rest."""
    return [float(v) for v in _full_space(epochs, kind, kwargs, warmup, warmup_kind, warmup_epochs,
                                          warmup_kwargs)[0]]


def _full_space(epochs: int, kind: str, kwargs: Dict, warmup: bool, warmup_kind: str, warmup_epochs: int,
                warmup_kwargs: Optional[Dict]):
    """``(lrs [epochs], start_lr)``: the original's ``lr_spaces`` and the ``start_lr`` its rates are
    divided by (the main schedule's first value after a warm-up, else its ``start_lr``)."""
    w = int(warmup_epochs) if warmup else 0
    if w > epochs:
        raise ValueError(f"warm-up ({w} epochs) is longer than training ({epochs} epochs)")
    main = lr_space(kind, epochs - w, **kwargs)
    if not w:
        start = {k.lower(): v for k, v in kwargs.items()}["start_lr"]
        return main, start
    head = lr_space(warmup_kind, w, **(warmup_kwargs or {}))
    if main.size == 0:  # all warm-up: the original would fail on normal[0]; scale by the warm-up's end
        return head, float({k.lower(): v for k, v in (warmup_kwargs or {}).items()}.get("end_lr", head[-1]))
    return np.concatenate([head, main]), main[0]


class EpochLR:
    """Sets every parameter group's LR at the start of each epoch, like the original PySOT.

    With ``start_lr`` (what :func:`build_lr_scheduler` passes) a group's rate is
    ``lrs[epoch] * group["initial_lr"] / start_lr``: the schedule is scaled by
    ``TRAIN.BASE_LR / start_lr`` (``initial_lr`` is ``BASE_LR``, times ``BACKBONE.LAYERS_LR``
    for the backbone), as the original does (the alex YAML trains at half its schedule).
    Without it, ``lrs[epoch] * group["lr_mult"]``. The arithmetic keeps the schedule's
    numpy dtype so the rates equal the original's to the last bit.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, lrs: Sequence[float], start_lr: Optional[float] = None,
                 base_lr: Optional[float] = None) -> None:
        self.optimizer = optimizer
        self.lrs = np.asarray(lrs) if not isinstance(lrs, np.ndarray) else lrs
        self.start_lr = start_lr
        self.base_lr = base_lr
        self.epoch = 0

    def _rate(self, value, group: Dict) -> float:
        if self.start_lr is not None and "initial_lr" in group:
            return float(value * group["initial_lr"] / self.start_lr)
        return float(value) * group.get("lr_mult", 1.0)

    def set_epoch(self, epoch: int) -> float:
        """Set the rates of ``epoch``; returns the rate of a group with ``initial_lr = BASE_LR``."""
        self.epoch = int(epoch)
        value = self.lrs[min(self.epoch, len(self.lrs) - 1)]
        for g in self.optimizer.param_groups:
            g["lr"] = self._rate(value, g)
        if self.start_lr is not None and self.base_lr is not None:
            return float(value * self.base_lr / self.start_lr)
        return float(value)

    def state_dict(self) -> Dict:
        return {"epoch": self.epoch, "lrs": [float(v) for v in self.lrs], "dtype": str(self.lrs.dtype),
                "start_lr": None if self.start_lr is None else float(self.start_lr), "base_lr": self.base_lr}

    def load_state_dict(self, state: Dict) -> None:
        self.lrs = np.asarray(state["lrs"], dtype=state.get("dtype", "float64"))
        if "start_lr" in state:
            start = state["start_lr"]
            self.start_lr = None if start is None else self.lrs.dtype.type(start)
            self.base_lr = state.get("base_lr")
        self.set_epoch(state["epoch"])


def build_lr_scheduler(cfg, optimizer: torch.optim.Optimizer) -> EpochLR:
    """Map ``cfg.TRAIN.LR`` / ``cfg.TRAIN.LR_WARMUP`` / ``cfg.TRAIN.EPOCH`` onto :class:`EpochLR`."""
    t = cfg.TRAIN
    if t.LR_WARMUP.WARMUP and t.LR_WARMUP.EPOCH > t.EPOCH:
        raise ConfigError(f"TRAIN.LR_WARMUP.EPOCH ({t.LR_WARMUP.EPOCH}) is longer than TRAIN.EPOCH ({t.EPOCH}); "
                          "shorten the warm-up or set TRAIN.LR_WARMUP.WARMUP False")
    # A YAML without KWARGS warms up from BASE_LR / 10 to BASE_LR, then starts at BASE_LR.
    main_kw = {"start_lr": t.BASE_LR, **dict(t.LR.KWARGS)}
    warm_kw = {"start_lr": t.BASE_LR * 0.1, "end_lr": t.BASE_LR, "step": 1, **dict(t.LR_WARMUP.KWARGS)}
    try:
        lrs, start = _full_space(t.EPOCH, t.LR.TYPE, main_kw, t.LR_WARMUP.WARMUP, t.LR_WARMUP.TYPE,
                                 t.LR_WARMUP.EPOCH, warm_kw)
    except ValueError as e:
        raise ConfigError(f"TRAIN.LR / TRAIN.LR_WARMUP: {e}") from None
    return EpochLR(optimizer, lrs, start_lr=start, base_lr=t.BASE_LR)
