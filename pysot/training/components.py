"""Small training components the trainer calls: parameter groups, backbone unfreezing, progress."""
from __future__ import annotations

import os
import signal
import threading
import time
from typing import Dict, Iterable, List, Optional, Sequence

import torch
import torch.nn as nn

from pysot.config import ConfigError
from pysot.utils.log import get_logger

logger = get_logger("pysot.train")


def _backbone_layers(backbone: nn.Module, names: Sequence[str]) -> List[nn.Module]:
    children = dict(backbone.named_children())
    layers = []
    for name in names:
        if name not in children:
            raise ConfigError(f"BACKBONE.TRAIN_LAYERS: {type(backbone).__name__} has no layer {name!r}; "
                              f"its layers are {sorted(children)}")
        layers.append(children[name])
    return layers


def build_optimizer(model: nn.Module, base_lr: float, momentum: float, weight_decay: float,
                    backbone_layers: Sequence[str], backbone_lr_mult: float,
                    train_backbone: bool = True) -> torch.optim.SGD:
    """SGD over the parameters that train, as the original PySOT's ``build_opt_lr`` groups them:
    ``TRAIN_LAYERS`` of the backbone (only when ``train_backbone``; ``initial_lr = backbone_lr_mult
    * base_lr``, ``lr_mult = backbone_lr_mult``), then the rest of the network (``initial_lr =
    base_lr``). The backbone group exists (empty) while the backbone is frozen, so the saved state
    always has the same two groups.

    The trainer builds a new optimizer when the backbone unfreezes (``BACKBONE.TRAIN_EPOCH``),
    as the original does: the SGD momentum of the heads starts again from zero there.
    """
    backbone = getattr(model, "backbone", None)
    layer_params = []
    if backbone is not None:
        layer_params = [p for layer in _backbone_layers(backbone, backbone_layers) for p in layer.parameters()]
    rest = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    # The product in the original's order (LAYERS_LR * BASE_LR), so the rates are bit-equal.
    backbone_lr = float(backbone_lr_mult) * float(base_lr)
    groups = [{"params": layer_params if train_backbone else [], "lr": backbone_lr, "initial_lr": backbone_lr,
               "lr_mult": float(backbone_lr_mult), "name": "backbone"},
              {"params": rest, "lr": float(base_lr), "initial_lr": float(base_lr), "lr_mult": 1.0,
               "name": "heads"}]
    return torch.optim.SGD(groups, lr=base_lr, momentum=momentum, weight_decay=weight_decay)


class BackboneUnfreezer:
    """Keeps the backbone frozen before ``train_epoch``, then trains ``layers``.

    Frozen layers are also held in eval mode so their BatchNorm statistics stay
    those of the pretrained weights. :meth:`apply` returns True when the set of
    trainable parameters changed (a DDP wrapper must then be rebuilt). ``log``:
    announce the change (only the main process does, under DDP).
    """

    def __init__(self, backbone: Optional[nn.Module], layers: Sequence[str], train_epoch: int,
                 log: bool = True) -> None:
        self.backbone = backbone
        self.log = bool(log)
        self.train_epoch = int(train_epoch)
        self.layer_names = list(layers)
        self.layers = _backbone_layers(backbone, layers) if backbone is not None else []
        self._state: Optional[bool] = None

    def apply(self, epoch: int) -> bool:
        if self.backbone is None:
            return False
        unfrozen = epoch >= self.train_epoch
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.backbone.eval()
        if unfrozen:
            for layer in self.layers:
                layer.train()
                for p in layer.parameters():
                    p.requires_grad_(True)
        changed = self._state is not None and self._state != unfrozen
        if self.log and self._state != unfrozen:
            trained = ", ".join(self.layer_names) if unfrozen and self.layers else ""
            logger.info(f"epoch {epoch + 1}: backbone " + (f"training {trained}" if trained else "frozen"))
        self._state = unfrozen
        return changed


class ProgressMeter:
    """Running averages of scalars plus speed and ETA for the log line."""

    def __init__(self, total_iters: int, start_iter: int) -> None:
        self.total, self.start = total_iters, start_iter
        self.t0 = time.time()
        self.sums: Dict[str, float] = {}
        self.count = 0

    def update(self, values: Dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.count += 1

    def averages(self) -> Dict[str, float]:
        return {k: v / max(self.count, 1) for k, v in self.sums.items()}

    def reset(self) -> None:
        self.sums, self.count = {}, 0

    def eta(self, iteration: int) -> str:
        done = iteration - self.start
        if done <= 0:
            return "?"
        left = (time.time() - self.t0) / done * (self.total - iteration)
        h, rem = divmod(int(left), 3600)
        return f"{h:d}:{rem // 60:02d}:{rem % 60:02d}"


def format_scalars(values: Dict[str, float], keys: Iterable[str]) -> str:
    return " ".join(f"{k}={values[k]:.4f}" for k in keys if k in values)


class StopRequest:
    """Turns the first SIGINT (Ctrl-C) or SIGTERM (a scheduler's pre-emption) into a request to
    stop at the next iteration boundary, so the trainer can save a checkpoint it can resume
    exactly; a second Ctrl-C interrupts at once. Use as a context manager around the loop
    (handlers are only installed from the main thread, and restored on exit).

    A second SIGINT within ``repeat_after`` seconds of the first counts as the same one:
    torchrun forwards the terminal's Ctrl-C to workers that already received it.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, log: bool = True, repeat_after: float = 1.0) -> None:
        self.signum: Optional[int] = None
        self.log = bool(log)
        self.repeat_after = float(repeat_after)
        self._first_at = 0.0
        self._previous: Dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            if signum == signal.SIGINT and time.monotonic() - self._first_at >= self.repeat_after:
                raise KeyboardInterrupt
            return
        self.signum, self._first_at = signum, time.monotonic()
        if self.log:
            # Not through logging: the signal may arrive while the main thread is inside a write to
            # stderr, and re-entering that buffered stream raises. os.write bypasses the buffer.
            name = signal.Signals(signum).name
            os.write(2, f"\n{name}: stopping after this iteration and saving latest.pth "
                        "(Ctrl-C again to abort without saving)\n".encode())

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


# A worker that got SIGTERM with the rest of its process group exits on its own after this many
# seconds if the main process has not shut it down by then (it normally does within one iteration).
WORKER_TERM_GRACE_S = 300


def _worker_sigterm(signum: int, frame: object) -> None:
    # SIGALRM's default action ends the worker; a later SIGTERM does not re-arm the alarm.
    if signal.alarm(0) == 0:
        signal.alarm(WORKER_TERM_GRACE_S)
    else:
        signal.alarm(1)


def quiet_worker_signals(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: Ctrl-C and SIGTERM reach the whole process group (a terminal,
    ``timeout``, SLURM, ``kill -- -PGID``), but only the main process should react: it stops after
    the current iteration, saves, and shuts its workers down. A worker that died of the signal
    instead would abort the run with "DataLoader worker is killed by signal" before anything is saved.

    SIGINT is ignored. SIGTERM is ignored for :data:`WORKER_TERM_GRACE_S` seconds, then ends the
    worker: a main process that never shuts it down (stuck, or killed outright: the worker's own
    watchdog also notices that) does not leave it behind, and a second SIGTERM (torch's fallback
    ``terminate()`` of a worker that did not stop in time) ends it a second later.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_sigterm)
