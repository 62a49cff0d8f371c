"""Training throughput against the original PySOT code, in one process (``tools/benchmark.py --training``).

The original code is imported from a folder the user names (a checkout of STVIR/pysot; it is
never part of this repository). Both packages are called ``pysot``, so the original is
imported with this repository's ``pysot`` modules set aside in ``sys.modules`` and put back
afterwards; its functions keep their own module globals, so both run side by side.

Both sides read the same YAML and the same overrides (the training set, batch size), and
are timed interleaved in rotating order (:func:`pysot.apps.benchmark.interleaved_times`):

* ``pipeline``: one training sample (pair crop, augmentation, anchor targets) of each
  side's dataset (``TrkDataset`` vs :func:`pysot.datasets.dataset.build_train_dataset`);
* ``step``: forward, backward, gradient clipping and an SGD step on a fixed batch from the
  side's own pipeline, every parameter trained (the same work on both sides);
* ``iteration``: a batch drawn from the pipeline in the process (``num_workers = 0``) and
  the step on it: what one training iteration costs without loader workers.
"""
from __future__ import annotations

import contextlib
import importlib
import statistics
import sys
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from pysot.utils.log import get_logger

logger = get_logger("pysot.benchmark")

__all__ = ["import_original_pysot", "benchmark_training"]


def import_original_pysot(path: str) -> SimpleNamespace:
    """The original PySOT's ``cfg``, ``TrkDataset`` and ``ModelBuilder`` from the checkout at ``path``.

    Raises ``ImportError`` (naming ``path``) when they cannot be imported from there.
    """
    ours = {k: v for k, v in sys.modules.items() if k == "pysot" or k.startswith("pysot.")}
    for k in ours:
        del sys.modules[k]
    sys.path.insert(0, path)
    if not hasattr(np, "float"):  # numpy >= 1.24 removed the alias the original's augmentation uses
        np.float = float  # type: ignore[attr-defined]
    try:
        package = importlib.import_module("pysot")
        if not str(getattr(package, "__file__", "") or "").startswith(str(path).rstrip("/")):
            raise ImportError(f"{path}: no pysot package there (found {getattr(package, '__file__', None)})")
        loaded = SimpleNamespace(cfg=importlib.import_module("pysot.core.config").cfg,
                                 TrkDataset=importlib.import_module("pysot.datasets.dataset").TrkDataset,
                                 ModelBuilder=importlib.import_module("pysot.models.model_builder").ModelBuilder)
    except ImportError as e:
        raise ImportError(f"--training {path}: cannot import the original PySOT from there ({e})") from None
    finally:
        sys.path.remove(path)
        for k in [k for k in sys.modules if k == "pysot" or k.startswith("pysot.")]:
            sys.modules["_original_" + k] = sys.modules.pop(k)
        sys.modules.update(ours)
    return loaded


@contextlib.contextmanager
def _cuda_is_a_no_op():
    """The original's ``ModelBuilder.forward`` moves its batch with ``.cuda()``: keep it on the CPU."""
    previous = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.Tensor.cuda = previous  # type: ignore[assignment]


def _batch(dataset, start: int, size: int) -> Dict[str, torch.Tensor]:
    """``size`` samples collated as a DataLoader does (``torch.stack``: contiguous tensors)."""
    samples = [dataset[start + i] for i in range(size)]
    return {k: torch.stack([torch.as_tensor(s[k]) for s in samples]) for k in samples[0]
            if isinstance(samples[0][k], np.ndarray)}


def _sgd(model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
    params = [p for p in model.parameters()]
    for p in params:
        p.requires_grad_(True)
    return torch.optim.SGD(params, lr=1e-4, momentum=float(cfg.TRAIN.MOMENTUM),
                           weight_decay=float(cfg.TRAIN.WEIGHT_DECAY))


def benchmark_training(original_path: str, config: str, data_root: str, data_anno: str, batch_size: int = 8,
                       samples: int = 32, steps: int = 5, warmup: int = 2, frame_range: int = 100,
                       threads: Optional[int] = None) -> Dict[str, Any]:
    """Samples/s of the data pipeline and s/iteration of the training step and iteration, ours vs
    the original's (module docstring). ``config``: a YAML both read (the original's own
    experiment files work); ``data_root``/``data_anno``: a crop-511 training set and its json
    (``DATASET.VID``, the only sub-dataset). Returns medians and median per-round ratios
    (``*_speedup`` > 1: ours is faster)."""
    import cv2

    from pysot.apps.benchmark import interleaved_times, median_ratio
    from pysot.config import load_cfg
    from pysot.datasets.dataset import build_train_dataset
    from pysot.models import build_model

    orig = import_original_pysot(original_path)
    length = max(samples, batch_size * (warmup + steps)) + warmup + batch_size
    opts = ["DATASET.NAMES", "['VID']", "DATASET.VID.ROOT", data_root, "DATASET.VID.ANNO", data_anno,
            "DATASET.VID.FRAME_RANGE", str(frame_range), "DATASET.VID.NUM_USE", "-1",
            "DATASET.VIDEOS_PER_EPOCH", str(length), "TRAIN.EPOCH", "1", "TRAIN.BATCH_SIZE", str(batch_size),
            "BACKBONE.PRETRAINED", "''"]
    ours_cfg = load_cfg(config, opts)
    orig.cfg.merge_from_file(config)
    orig.cfg.merge_from_list([v if v != "''" else "" for v in opts])
    previous = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(int(threads or previous[0]))
    cv2.setNumThreads(int(threads or previous[0]))
    try:
        with _quiet_original_logs():
            theirs_data = orig.TrkDataset()
        ours_data = build_train_dataset(ours_cfg, length=length)
        np.random.seed(0)
        pipeline = interleaved_times({"ours": lambda i: ours_data[i], "original": lambda i: theirs_data[i]},
                                     warmup, samples)
        torch.manual_seed(0)
        ours_model, theirs_model = build_model(ours_cfg).train(), orig.ModelBuilder().train()
        ours_opt, theirs_opt = _sgd(ours_model, ours_cfg), _sgd(theirs_model, ours_cfg)
        clip = float(ours_cfg.TRAIN.GRAD_CLIP)
        t = ours_cfg.TRAIN

        def ours_step(batch):
            losses = ours_model(batch, cls_weight=t.CLS_WEIGHT, loc_weight=t.LOC_WEIGHT, mask_weight=t.MASK_WEIGHT)
            ours_opt.zero_grad(set_to_none=True)
            losses["total_loss"].backward()
            torch.nn.utils.clip_grad_norm_(ours_model.parameters(), clip)
            ours_opt.step()

        def theirs_step(batch):
            with _cuda_is_a_no_op():
                losses = theirs_model(batch)
            theirs_opt.zero_grad()
            losses["total_loss"].backward()
            torch.nn.utils.clip_grad_norm_(theirs_model.parameters(), clip)
            theirs_opt.step()

        ours_batch, theirs_batch = _batch(ours_data, 0, batch_size), _batch(theirs_data, 0, batch_size)
        step = interleaved_times({"ours": lambda i: ours_step(ours_batch), "original": lambda i: theirs_step(theirs_batch)},
                                 warmup, steps)
        iteration = interleaved_times(
            {"ours": lambda i: ours_step(_batch(ours_data, i * batch_size, batch_size)),
             "original": lambda i: theirs_step(_batch(theirs_data, i * batch_size, batch_size))}, warmup, steps)
    finally:
        torch.set_num_threads(previous[0])
        cv2.setNumThreads(previous[1])

    def summary(times: Dict[str, List[float]], per: int, unit: str) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for side, ts in times.items():
            median = float(statistics.median(ts))
            out[side] = {unit: (per / median if unit == "samples_per_s" else median), "rounds": len(ts)}
        out["speedup"] = median_ratio(times["original"], times["ours"])
        return out

    return {"config": config, "original": original_path, "data": {"root": data_root, "anno": data_anno},
            "batch_size": batch_size, "threads": int(threads or previous[0]),
            "pipeline": summary(pipeline, 1, "samples_per_s"), "step": summary(step, 1, "seconds_per_iter"),
            "iteration": summary(iteration, 1, "seconds_per_iter")}


@contextlib.contextmanager
def _quiet_original_logs():
    import logging

    log = logging.getLogger("global")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)
