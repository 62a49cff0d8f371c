"""CUDA only: the depthwise correlation chosen per shape between cuDNN and the Triton kernel."""
from __future__ import annotations

import functools
import time
from typing import Any, Callable, Dict, Tuple

import torch
import torch.nn as nn

from pysot.core.xcorr import xcorr_depthwise
from pysot.utils.log import get_logger

logger = get_logger("pysot.fast")


def _time_cuda(fn: Callable[[], Any], reps: int = 20) -> float:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / reps


class _DepthwiseChooser:
    """Depthwise correlation that times cuDNN against the Triton kernel once per shape and keeps the faster."""

    def __init__(self) -> None:
        self.choice: Dict[Tuple[Any, ...], Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {}

    def __call__(self, x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        if not x.is_cuda:
            return xcorr_depthwise(x, kernel)
        key = (tuple(x.shape), tuple(kernel.shape), x.dtype)
        fn = self.choice.get(key)
        if fn is None:
            fn = xcorr_depthwise
            if not torch.cuda.is_current_stream_capturing():
                from pysot.core import xcorr_triton

                if xcorr_triton.available():
                    t_conv = _time_cuda(lambda: xcorr_depthwise(x, kernel))
                    t_triton = _time_cuda(lambda: xcorr_triton.xcorr_depthwise_triton(x, kernel))
                    fn = xcorr_triton.xcorr_depthwise_triton if t_triton < t_conv else xcorr_depthwise
                    logger.info("depthwise xcorr %s x %s: cuDNN %.1f us, Triton %.1f us -> %s", key[0], key[1],
                                t_conv * 1e6, t_triton * 1e6, "Triton" if fn is not xcorr_depthwise else "cuDNN")
                self.choice[key] = fn
        return fn(x, kernel)


def _use_correlation(model: nn.Module, correlation: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> int:
    """Route every depthwise-correlation module of ``model`` (a private copy) through ``correlation``."""
    from pysot.models.head.rpn import DepthwiseXCorr

    count = 0
    for module in model.modules():
        if isinstance(module, DepthwiseXCorr):
            # An instance attribute shadows the class method on this copy only.
            module.correlate = functools.partial(_correlate, module, correlation)
            count += 1
    return count


def _correlate(module: nn.Module, correlation: Callable, kernel: torch.Tensor, x_f: torch.Tensor) -> torch.Tensor:
    return correlation(module.conv_search(x_f), kernel)
