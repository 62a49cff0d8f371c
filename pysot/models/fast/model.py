"""``FastModel``: the optimised copy behind the same ``template``/``track`` protocol."""
from __future__ import annotations

import contextlib
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from pysot.models.fast.graphs import _CapturedStep, _copy_tree_, record_graph
from pysot.models.fast.verify import Outputs
from pysot.utils.log import get_logger

logger = get_logger("pysot.fast")


class FastModel(nn.Module):
    """Inference-only view of a :class:`~pysot.models.ModelBuilder` with the same protocol.

    ``template(z)``, ``track(x)`` (and ``mask_refine(pos)`` for SiamMask) take
    and return what the wrapped model does (see its docstring); outputs are
    float32 whatever the autocast setting. Build it with
    :func:`optimize_for_inference`.
    """

    def __init__(self, model: nn.Module, device: torch.device, channels_last: bool = False,
                 amp_dtype: Optional[torch.dtype] = None, cuda_graph: bool = False) -> None:
        super().__init__()
        self.model = model
        self.device = torch.device(device)
        self.channels_last = bool(channels_last)
        self.amp_dtype = amp_dtype
        self.cuda_graph = bool(cuda_graph) and self.device.type == "cuda" and not self.has_mask
        self._graphs: Dict[Tuple[Tuple[int, ...], torch.dtype], _CapturedStep] = {}
        # Under autocast the cached template state is in reduced precision; a float32 redo of a
        # frame (after an overflow) must rebuild it from the template crop itself.
        self._template_input: Optional[torch.Tensor] = None

    @property
    def has_mask(self) -> bool:
        return bool(getattr(self.model, "has_mask", False))

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def _autocast(self):
        if self.amp_dtype is None:
            if not torch.is_autocast_enabled(self.device.type):
                return contextlib.nullcontext()  # entering a disabled autocast costs more than a small layer
            return torch.autocast(self.device.type, enabled=False)
        # No cast cache: a cached cast made during a CUDA-graph capture would outlive the capture.
        return torch.autocast(self.device.type, dtype=self.amp_dtype, cache_enabled=False)

    @staticmethod
    def _as_float(outputs: Outputs) -> Outputs:
        return {k: (v.float() if v is not None else None) for k, v in outputs.items()}

    def template(self, z: torch.Tensor) -> None:
        """Cache the template branch of ``z`` ``[B, 3, 127, 127]`` (raw 0..255 BGR)."""
        with torch.inference_mode(), self._autocast():
            previous = getattr(self.model, "_template_state", None)
            z = self._prepare(z)
            self.model.template(z)
            if self.amp_dtype is not None:
                self._template_input = z.clone()
            if self._graphs:
                # Captured graphs read the template state from fixed addresses: refresh it in place.
                if previous is not None and _copy_tree_(previous, self.model._template_state):
                    self.model._template_state = previous
                else:
                    self._graphs.clear()

    def _eager_track(self, x: torch.Tensor) -> Outputs:
        with self._autocast():
            return self._as_float(self.model.track(x))

    def track(self, x: torch.Tensor) -> Outputs:
        """``{"cls", "loc", "mask"}`` for search crops ``x`` ``[B, 3, S, S]``; see ModelBuilder.track."""
        with torch.inference_mode():
            x = self._prepare(x)
            if not self.cuda_graph:
                outputs = self._eager_track(x)
            else:
                step = self._graphs.get((tuple(x.shape), x.dtype))
                if step is None:
                    step = self._capture(x)
                step.static_input.copy_(x)
                step.graph.replay()
                # Clones: the next replay overwrites the static outputs in place.
                outputs = {k: (v.clone() if v is not None else None) for k, v in step.static_outputs.items()}
            if self.amp_dtype is not None and not all(bool(torch.isfinite(v).all()) for v in outputs.values()
                                                      if v is not None):
                # A reduced-precision overflow must never become a NaN box: redo this frame in float32.
                logger.warning("non-finite outputs under %s autocast; this frame is recomputed in float32",
                               self.amp_dtype)
                outputs = self._float32_track(x)
            return outputs

    def _float32_track(self, x: torch.Tensor) -> Outputs:
        """``track(x)`` in float32 from a float32 template state, leaving the cached state as it was."""
        cached = self.model._template_state
        try:
            with torch.autocast(self.device.type, enabled=False):
                if self._template_input is not None:
                    self.model.template(self._template_input)
                return self._as_float(self.model.track(x))
        finally:
            # Captured graphs and later frames keep using the reduced-precision state at its addresses.
            self.model._template_state = cached

    def _capture(self, x: torch.Tensor) -> _CapturedStep:
        static_input = x.clone()
        graph, static_outputs = self._record_graph(static_input)
        step = _CapturedStep(graph, static_input, static_outputs)
        self._graphs[(tuple(x.shape), x.dtype)] = step
        logger.info("captured a CUDA graph of track() for input %s", tuple(x.shape))
        return step

    def _record_graph(self, static_input: torch.Tensor) -> Tuple["torch.cuda.CUDAGraph", Outputs]:
        """A CUDA graph of ``_eager_track(static_input)`` and the outputs its replays overwrite."""
        return record_graph(self._eager_track, static_input, self.device)

    def mask_refine(self, pos: Tuple[int, int]) -> torch.Tensor:
        """Refined mask logits ``[B, 127*127]`` (SiamMask); see ModelBuilder.mask_refine."""
        with torch.inference_mode(), self._autocast():
            return self.model.mask_refine(pos).float()

    def forward(self, x: torch.Tensor) -> Outputs:
        return self.track(x)
