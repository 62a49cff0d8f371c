"""CUDA-graph capture of the per-frame ``track`` step: static buffers refreshed in place."""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

import torch

from pysot.models.fast.verify import Outputs


def _copy_tree_(dst: Any, src: Any) -> bool:
    """``dst.copy_(src)`` leaf by leaf; False (nothing copied) when the structures or shapes differ."""
    pairs: List[Tuple[torch.Tensor, torch.Tensor]] = []

    def collect(d: Any, s: Any) -> bool:
        if isinstance(d, torch.Tensor):
            ok = isinstance(s, torch.Tensor) and d.shape == s.shape and d.dtype == s.dtype
            pairs.append((d, s))
            return ok
        if isinstance(d, dict):
            return isinstance(s, dict) and d.keys() == s.keys() and all(collect(d[k], s[k]) for k in d)
        if isinstance(d, (list, tuple)):
            return isinstance(s, (list, tuple)) and len(d) == len(s) and all(map(collect, d, s))
        return d == s

    if not collect(dst, src):
        return False
    for d, s in pairs:
        d.copy_(s)
    return True


class _CapturedStep:
    """One CUDA graph of ``track`` for a fixed input shape: static input and outputs."""

    def __init__(self, graph: "torch.cuda.CUDAGraph", static_input: torch.Tensor, static_outputs: Outputs) -> None:
        self.graph = graph
        self.static_input = static_input
        self.static_outputs = static_outputs


def record_graph(eager_track: Callable[[torch.Tensor], Outputs], static_input: torch.Tensor,
                 device: torch.device) -> Tuple["torch.cuda.CUDAGraph", Outputs]:
    """A CUDA graph of ``eager_track(static_input)`` and the outputs its replays overwrite."""
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):  # warm-up: cuDNN autotuning and lazy allocations must happen outside capture
            eager_track(static_input)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_outputs = eager_track(static_input)
    return graph, static_outputs
