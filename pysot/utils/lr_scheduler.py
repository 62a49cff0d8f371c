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
    """LRs of ``epochs`` epochs for one schedule ``kind``.

    - ``log``: ``start_lr`` to ``end_lr`` evenly in log space.
    - ``step``: ``start_lr * mult ** (epoch // step)`` (``end_lr`` may replace ``mult``:
      then ``mult`` is chosen so the last epoch reaches it).
    - ``multi-step``: ``start_lr * mult ** (number of milestones <= epoch)``.
    - ``cos``: half cosine from ``start_lr`` to ``end_lr``.
    - ``linear``: straight line from ``start_lr`` to ``end_lr``.
    """
    if epochs <= 0:
        return []
    kw = {k.lower(): v for k, v in kwargs.items()}
    try:
        start = float(kw["start_lr"])
    except KeyError:
        raise ValueError(f"LR schedule '{kind}': KWARGS needs start_lr") from None
    e = np.arange(epochs, dtype=np.float64)
    if kind == "log":
        end = float(kw.get("end_lr", start * 0.1))
        lrs = np.logspace(math.log10(start), math.log10(end), epochs)
    elif kind == "step":
        step = int(kw.get("step", 1))
        if "end_lr" in kw and "mult" not in kw:
            n = max(1, (epochs - 1) // step)
            mult = (float(kw["end_lr"]) / start) ** (1.0 / n)
        else:
            mult = float(kw.get("mult", 0.1))
        lrs = start * mult ** (e // step)
    elif kind == "multi-step":
        milestones = sorted(int(m) for m in kw.get("milestones", []))
        mult = float(kw.get("mult", 0.1))
        lrs = np.array([start * mult ** sum(1 for m in milestones if ep >= m) for ep in e])
    elif kind == "cos":
        end = float(kw.get("end_lr", 0.0))
        lrs = end + (start - end) * (1 + np.cos(np.pi * e / epochs)) / 2
    elif kind == "linear":
        end = float(kw.get("end_lr", 0.0))
        lrs = np.linspace(start, end, epochs)
    else:
        raise ValueError(f"unknown LR schedule '{kind}' (known: log, step, multi-step, cos, linear)")
    return [float(v) for v in lrs]


def build_epoch_lrs(epochs: int, kind: str, kwargs: Dict, warmup: bool = False, warmup_kind: str = "step",
                    warmup_epochs: int = 0, warmup_kwargs: Optional[Dict] = None) -> List[float]:
    """The full schedule: ``warmup_epochs`` of warm-up (if enabled) then ``kind`` for the rest."""
    w = int(warmup_epochs) if warmup else 0
    if w > epochs:
        raise ValueError(f"warm-up ({w} epochs) is longer than training ({epochs} epochs)")
    head = epoch_lrs(warmup_kind, w, **(warmup_kwargs or {})) if w else []
    return head + epoch_lrs(kind, epochs - w, **kwargs)


class EpochLR:
    """Sets ``lr = schedule[epoch] * group['lr_mult']`` on every parameter group."""

    def __init__(self, optimizer: torch.optim.Optimizer, lrs: Sequence[float]) -> None:
        self.optimizer = optimizer
        self.lrs = list(lrs)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> float:
        self.epoch = int(epoch)
        lr = self.lrs[min(self.epoch, len(self.lrs) - 1)]
        for g in self.optimizer.param_groups:
            g["lr"] = lr * g.get("lr_mult", 1.0)
        return lr

    def state_dict(self) -> Dict:
        return {"epoch": self.epoch, "lrs": list(self.lrs)}

    def load_state_dict(self, state: Dict) -> None:
        self.lrs = list(state["lrs"])
        self.set_epoch(state["epoch"])


def build_lr_scheduler(cfg, optimizer: torch.optim.Optimizer) -> EpochLR:
    """Map ``cfg.TRAIN.LR`` / ``cfg.TRAIN.LR_WARMUP`` / ``cfg.TRAIN.EPOCH`` onto :class:`EpochLR`."""
    t = cfg.TRAIN
    if t.LR_WARMUP.WARMUP and t.LR_WARMUP.EPOCH > t.EPOCH:
        raise ConfigError(f"TRAIN.LR_WARMUP.EPOCH ({t.LR_WARMUP.EPOCH}) is longer than TRAIN.EPOCH ({t.EPOCH}); "
                          "shorten the warm-up or set TRAIN.LR_WARMUP.WARMUP False")
    # A YAML without KWARGS warms up from BASE_LR / 10 to BASE_LR, then starts at BASE_LR.
    main_kw = {"start_lr": t.BASE_LR, **dict(t.LR.KWARGS)}
    warm_kw = {"start_lr": t.BASE_LR * 0.1, "end_lr": t.BASE_LR, **dict(t.LR_WARMUP.KWARGS)}
    try:
        lrs = build_epoch_lrs(t.EPOCH, t.LR.TYPE, main_kw, t.LR_WARMUP.WARMUP, t.LR_WARMUP.TYPE,
                              t.LR_WARMUP.EPOCH, warm_kw)
    except ValueError as e:
        raise ConfigError(f"TRAIN.LR / TRAIN.LR_WARMUP: {e}") from None
    return EpochLR(optimizer, lrs)
