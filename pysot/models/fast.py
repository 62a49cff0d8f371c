"""Inference fast path: an optimised copy of a built model with the same ``template``/``track`` API.

``optimize_for_inference(model, device)`` returns a :class:`FastModel` wrapping a
deep copy of ``model`` (the original is left untouched, so both can be timed in
one process). What it does, and why it stays exact:

* **BatchNorm folding.** Every ``BatchNorm2d`` whose input is always the output
  of one ``Conv2d`` is folded into that convolution
  (``w' = w * g / sqrt(v + eps)``, ``b' = (b - m) * g / sqrt(v + eps) + beta``,
  computed in float64 and rounded once to float32), and replaced by
  ``Identity``. Pairs are found by *running* the model once on example crops
  and recording which module produced each module's input, so any forward code
  (Sequential stacks, ResNet blocks, necks) is handled without naming rules.
* **Activation fusion.** A ``ReLU``/``ReLU6`` module whose every call consumes
  the output of the same (folded) convolution - directly or through a
  ``MaxPool2d``, with which a monotone activation commutes exactly - becomes
  a post-op of that convolution (one oneDNN call on the CPU, no extra pass
  over the feature map). Shared activation modules (ResNet's ``self.relu``,
  called after three different producers) are left alone.
* **Verification.** The optimised copy is run on the same example crops and
  compared with the original; a mismatch beyond float32 rounding raises
  ``RuntimeError`` instead of silently changing results.
* ``torch.inference_mode`` around ``template``/``track``; ``channels_last``
  layout by default (oneDNN's native layout on the CPU: no reorder around each
  convolution; tensor-core friendly on GPU).
* Opt-in ``torch.autocast`` (bf16; fp16 on CUDA only). NOT parity-exact, see
  docs/speed.md; a frame with non-finite outputs is recomputed in float32.
* CUDA only: ``cudnn.benchmark``, CUDA-graph capture of the per-frame
  ``track`` step, and the depthwise correlation chosen per shape between the
  cuDNN grouped convolution and the fused Triton kernel of
  :mod:`pysot.core.xcorr_triton` (whichever is faster when first seen).

The CPU path in float32 reproduces the parity fixtures (tests/speed).
"""
from __future__ import annotations

import copy
import functools
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pysot.core.xcorr import xcorr_depthwise
from pysot.utils.log import get_logger
from pysot.utils.model_load import model_device

logger = get_logger("pysot.fast")

__all__ = ["FastModel", "FusedConv2d", "fold_and_fuse", "optimize_for_inference", "compare_outputs"]

# Activations a convolution can run as a post-op: name -> oneDNN (post-op, scalars).
_POST_OPS = {"none": ("none", []), "relu": ("relu", []), "relu6": ("hardtanh", [0.0, 6.0])}
# Activation modules fused by :func:`fold_and_fuse`, and the post-op each becomes.
_ACTIVATIONS = {nn.ReLU: "relu", nn.ReLU6: "relu6"}
# Relative tolerance of the self-check after folding: float32 rounding of a folded
# weight is ~1e-7 relative; deep networks accumulate it, so allow a generous margin.
VERIFY_RTOL = 1e-3
VERIFY_RTOL_TF32 = 1e-2


def _mkldnn_pointwise_available() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
    except (AttributeError, RuntimeError):
        return False


class FusedConv2d(nn.Module):
    """A ``Conv2d`` with an optional folded BatchNorm and an optional activation post-op.

    ``forward``: ``[B, Cin, H, W]`` -> ``[B, Cout, H', W']``, exactly
    ``act(conv(x))`` of the modules it replaces (up to float32 rounding of the
    folded weights). On the CPU (float32, no autograd) it calls oneDNN's fused
    convolution + post-op; elsewhere ``F.conv2d`` followed by the activation.
    """

    def __init__(self, weight: torch.Tensor, bias: Optional[torch.Tensor], stride: Tuple[int, int],
                 padding: Tuple[int, int], dilation: Tuple[int, int], groups: int,
                 activation: str = "none") -> None:
        super().__init__()
        if activation not in _POST_OPS:
            raise ValueError(f"FusedConv2d: unknown activation {activation!r} ({', '.join(_POST_OPS)})")
        self.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.stride, self.padding, self.dilation = tuple(stride), tuple(padding), tuple(dilation)
        self.groups = int(groups)
        self.activation = activation
        self.use_mkldnn = _mkldnn_pointwise_available()

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> "FusedConv2d":
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(f"FusedConv2d: only explicit zero padding is supported, got {conv.padding!r} "
                             f"({conv.padding_mode})")
        return cls(conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)

    def fold_batchnorm(self, bn: nn.BatchNorm2d) -> None:
        """Absorb the eval-mode affine map of ``bn`` (running statistics) into weight and bias."""
        if bn.running_mean is None or bn.running_var is None:
            raise ValueError("FusedConv2d: cannot fold a BatchNorm2d without running statistics")
        w = self.weight.detach().double()
        gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(bn.running_var).double()
        beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(bn.running_mean).double()
        scale = gamma / torch.sqrt(bn.running_var.detach().double() + bn.eps)
        bias = self.bias.detach().double() if self.bias is not None else torch.zeros_like(scale)
        dtype = self.weight.dtype
        self.weight = nn.Parameter((w * scale.reshape(-1, 1, 1, 1)).to(dtype), requires_grad=False)
        self.bias = nn.Parameter(((bias - bn.running_mean.detach().double()) * scale + beta).to(dtype),
                                 requires_grad=False)

    def set_activation(self, activation: str) -> None:
        if self.activation != "none":
            raise ValueError(f"FusedConv2d already has the activation {self.activation!r}")
        self.activation = activation

    def extra_repr(self) -> str:
        out_c, in_c = self.weight.shape[0], self.weight.shape[1] * self.groups
        return (f"{in_c}, {out_c}, kernel_size={tuple(self.weight.shape[2:])}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"activation={self.activation}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.use_mkldnn and x.device.type == "cpu" and x.dtype == torch.float32
                and self.weight.dtype == torch.float32 and not torch.is_grad_enabled()
                and not torch.jit.is_tracing()  # the ONNX exporter knows F.conv2d, not oneDNN's op
                and not torch.is_autocast_enabled("cpu")):  # autocast only rewrites the standard ops
            attr, scalars = _POST_OPS[self.activation]
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.weight, self.bias, list(self.padding), list(self.stride), list(self.dilation),
                self.groups, attr, scalars, None)
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.activation == "relu":
            return F.relu(y)
        if self.activation == "relu6":
            return F.hardtanh(y, 0.0, 6.0)
        return y


# ---------------------------------------------------------------------- tracing
class _CallRecord:
    __slots__ = ("module", "input_producers")

    def __init__(self, module: nn.Module, input_producers: Tuple[Optional[nn.Module], ...]) -> None:
        self.module = module
        self.input_producers = input_producers


def _trace_producers(model: nn.Module, run: Callable[[], Any]) -> Tuple[List[_CallRecord], Any]:
    """Run ``run()`` recording, for each call of a leaf module, which leaf module produced its tensor inputs.

    Returns the records and what ``run()`` returned. Tensors are kept alive until the
    end, so Python ids are never reused within the trace.
    """
    producer: Dict[int, nn.Module] = {}
    keep: List[torch.Tensor] = []
    records: List[_CallRecord] = []

    def hook(module: nn.Module, inputs: Tuple[Any, ...], output: Any) -> None:
        tensors_in = [t for t in inputs if isinstance(t, torch.Tensor)]
        records.append(_CallRecord(module, tuple(producer.get(id(t)) for t in tensors_in)))
        if isinstance(output, torch.Tensor):
            producer[id(output)] = module
            keep.append(output)
        keep.extend(tensors_in)

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        result = run()
    finally:
        for h in handles:
            h.remove()
    return records, result


class _Trace:
    """Per-module views of the call records: call counts and the producers of each call's inputs."""

    def __init__(self, records: List[_CallRecord]) -> None:
        self.calls: Dict[int, int] = {}
        self.producers: Dict[int, set] = {}
        for r in records:
            self.calls[id(r.module)] = self.calls.get(id(r.module), 0) + 1
            self.producers.setdefault(id(r.module), set()).add(r.input_producers)

    def single_producer(self, module: nn.Module) -> Optional[nn.Module]:
        """The one module that produced the (single) input of every call of ``module``, else ``None``."""
        producers = self.producers.get(id(module), set())
        if len(producers) != 1:
            return None
        (inputs,) = producers
        return inputs[0] if len(inputs) == 1 else None

    def count(self, module: nn.Module) -> int:
        return self.calls.get(id(module), 0)


def _replace_modules(model: nn.Module, replacements: Dict[int, nn.Module]) -> None:
    """Swap every submodule whose id is a key of ``replacements`` for its value, in place."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if id(child) in replacements:
                setattr(parent, name, replacements[id(child)])


def fold_and_fuse(model: nn.Module, run: Callable[[nn.Module], Any],
                  fuse_activations: bool = True) -> Tuple[Dict[str, int], Any]:
    """Fold BatchNorm into convolutions and fuse activations, in place (see the module docstring).

    Args:
        model: an eval-mode model; it is modified.
        run: ``run(model)`` performs a representative inference (every module on
            the inference path must be called at least once).
        fuse_activations: also turn ReLU / ReLU6 modules into convolution post-ops.
    Returns:
        counts ``{"convs", "folded_bn", "fused_act"}`` and what ``run`` returned on the
        unmodified model (a reference for checking the result).
    """
    records, reference = _trace_producers(model, lambda: run(model))
    trace = _Trace(records)
    consumers: Dict[int, int] = {}  # producer id -> number of modules fed only by it
    for module in model.modules():
        source = trace.single_producer(module)
        if source is not None:
            consumers[id(source)] = consumers.get(id(source), 0) + 1
    convs = [m for m in model.modules() if type(m) is nn.Conv2d and m.padding_mode == "zeros"
             and not isinstance(m.padding, str)]
    fused = {id(c): FusedConv2d.from_conv(c) for c in convs}
    conv_of: Dict[int, nn.Module] = {id(c): c for c in convs}  # module (conv or folded BN) -> its conv
    replacements: Dict[int, nn.Module] = dict(fused)
    folded = activations = 0
    for bn in [m for m in model.modules() if type(m) is nn.BatchNorm2d]:
        source = trace.single_producer(bn)
        if source is None or id(source) not in fused or trace.count(bn) != trace.count(source):
            continue
        if consumers.get(id(source), 0) > 1:
            continue  # the raw conv output has another consumer: folding would change what it sees
        fused[id(source)].fold_batchnorm(bn)
        conv_of[id(bn)] = source
        replacements[id(bn)] = nn.Identity()
        folded += 1
    if fuse_activations:
        for act in [m for m in model.modules() if type(m) in _ACTIVATIONS]:
            source = trace.single_producer(act)
            if source is not None and type(source) is nn.MaxPool2d:
                # max(relu(a), relu(b)) == relu(max(a, b)): fusing before the pool is exact.
                source = trace.single_producer(source)
            if source is None or id(source) not in conv_of:
                continue
            conv = conv_of[id(source)]
            if trace.count(act) != trace.count(conv) or fused[id(conv)].activation != "none":
                continue
            fused[id(conv)].set_activation(_ACTIVATIONS[type(act)])
            replacements[id(act)] = nn.Identity()
            activations += 1
    _replace_modules(model, replacements)
    return {"convs": len(convs), "folded_bn": folded, "fused_act": activations}, reference


# ---------------------------------------------------------------------- the wrapper
Outputs = Dict[str, Optional[torch.Tensor]]


def compare_outputs(reference: Outputs, candidate: Outputs) -> float:
    """Largest ``|a - b| / max(1, max|a|)`` over the ``cls``/``loc``/``mask`` outputs present."""
    worst = 0.0
    for key, ref in reference.items():
        if ref is None:
            continue
        other = candidate.get(key)
        if other is None or other.shape != ref.shape:
            return float("inf")
        scale = max(1.0, float(ref.abs().max()))
        worst = max(worst, float((ref.float() - other.float()).abs().max()) / scale)
    return worst


def _map_tensors(fn: Callable[[torch.Tensor], Any], tree: Any) -> Any:
    if isinstance(tree, torch.Tensor):
        return fn(tree)
    if isinstance(tree, dict):
        return {k: _map_tensors(fn, v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map_tensors(fn, v) for v in tree)
    return tree


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
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):  # warm-up: cuDNN autotuning and lazy allocations must happen outside capture
                self._eager_track(static_input)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_outputs = self._eager_track(static_input)
        return graph, static_outputs

    def mask_refine(self, pos: Tuple[int, int]) -> torch.Tensor:
        """Refined mask logits ``[B, 127*127]`` (SiamMask); see ModelBuilder.mask_refine."""
        with torch.inference_mode(), self._autocast():
            return self.model.mask_refine(pos).float()

    def forward(self, x: torch.Tensor) -> Outputs:
        return self.track(x)


# ---------------------------------------------------------------------- correlation choice (CUDA)
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


# ---------------------------------------------------------------------- entry point
def _example_run(template_size: int, search_size: int, device: torch.device,
                 seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(1, 3, template_size, template_size, generator=g) * 255
    x = torch.rand(1, 3, search_size, search_size, generator=g) * 255
    return z.to(device), x.to(device)


def _reference_run(model: nn.Module, z: torch.Tensor, x: torch.Tensor) -> Outputs:
    model.template(z)
    out = dict(model.track(x))
    inner = model.model if isinstance(model, FastModel) else model
    if "refine_head" in inner._modules:
        out["refine"] = model.mask_refine((x.shape[-1] // 64, x.shape[-1] // 64))
    return out


def _inference_run(model: nn.Module, z: torch.Tensor, x: torch.Tensor) -> Outputs:
    with torch.inference_mode():
        return _reference_run(model, z, x)


_AMP_DTYPES = {None: None, "none": None, "fp16": torch.float16, "float16": torch.float16,
               "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def optimize_for_inference(model: nn.Module, device: Union[str, torch.device, None] = None, *,
                           fold_batchnorm: bool = True, fuse_activations: bool = True,
                           channels_last: Optional[bool] = None, amp: Optional[str] = None,
                           cuda_graph: Optional[bool] = None, triton_xcorr: bool = True,
                           search_size: int = 255, template_size: int = 127,
                           verify: bool = True) -> FastModel:
    """An inference-optimised copy of ``model`` on ``device``, wrapped as a :class:`FastModel`.

    Args:
        model: a built model (``template``/``track``), any device, any mode; not modified.
        device: target device (default: the model's).
        fold_batchnorm, fuse_activations: see the module docstring (exact in float32).
        channels_last: NHWC memory layout (default on: oneDNN's native layout on the CPU, where
            it saves the per-convolution layout reorders, and tensor-core friendly on GPU).
        amp: ``None`` (float32, exact), ``"fp16"`` or ``"bf16"`` autocast (CUDA).
        cuda_graph: capture ``track`` as a CUDA graph per input shape (default: on for CUDA,
            off for SiamMask, whose refine step reads intermediate features).
        triton_xcorr: on CUDA, let the Triton depthwise kernel replace cuDNN where it times faster.
        search_size, template_size: crop sizes of the example run used to trace and verify.
        verify: compare the optimised copy with ``model`` on the example crops; raise
            ``RuntimeError`` if they disagree beyond float32 rounding (only checked in float32).
    """
    device = torch.device(device) if device is not None else model_device(model)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"optimize_for_inference: device {device} requested but CUDA is not available")
    if amp not in _AMP_DTYPES:
        raise ValueError(f"optimize_for_inference: amp must be one of none, fp16, bf16; got {amp!r}")
    amp_dtype = _AMP_DTYPES[amp]
    if amp_dtype == torch.float16 and device.type != "cuda":
        raise ValueError("optimize_for_inference: amp='fp16' is for CUDA; on the CPU use amp='bf16' (or none)")
    if channels_last is None:
        channels_last = True
    if cuda_graph is None:
        cuda_graph = device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # crops have fixed sizes: autotuning pays off at once

    fast = copy.deepcopy(model).to(device).eval()
    for p in fast.parameters():
        p.requires_grad_(False)
    z, x = _example_run(template_size, search_size, device)
    # Runs on the copy, so the caller's model keeps its cached template. The traced run, made
    # before any change, is the reference of the verification below. The new weights are made
    # outside inference mode: inference tensors could not be traced by the ONNX exporter.
    with torch.no_grad():
        if fold_batchnorm:
            stats, reference = fold_and_fuse(fast, lambda m: _inference_run(m, z, x), fuse_activations)
            logger.debug("fast path: %s", stats)
        else:
            reference = _inference_run(fast, z, x) if verify else None
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    if device.type == "cuda" and triton_xcorr:
        _use_correlation(fast, _DepthwiseChooser())
    wrapped = FastModel(fast, device, channels_last=channels_last, amp_dtype=amp_dtype, cuda_graph=cuda_graph)
    if verify:
        candidate = _inference_run(wrapped, z, x)
        _check_against_reference(reference, candidate, device, amp_dtype)
    return wrapped


def _check_against_reference(reference: Outputs, candidate: Outputs, device: torch.device,
                             amp_dtype: Optional[torch.dtype]) -> None:
    """Raise ``RuntimeError`` when the optimised outputs are not those of the original model."""
    error = compare_outputs(reference, candidate)
    if amp_dtype is not None:
        # Reduced precision is a choice of the caller: only a broken result (overflow) is refused.
        if not np.isfinite(error):
            raise RuntimeError(f"optimize_for_inference: {amp_dtype} autocast overflows on this model (non-finite "
                               f"outputs; fp16 cannot hold the activations of raw 0..255 inputs): use amp='bf16'")
        logger.info("fast path with %s autocast: max relative deviation %.1e from float32", amp_dtype, error)
        return
    # cuDNN may round convolutions to TF32 (10-bit mantissa), differently in the two models.
    tolerance = VERIFY_RTOL_TF32 if device.type == "cuda" and torch.backends.cudnn.allow_tf32 else VERIFY_RTOL
    if not error <= tolerance:
        raise RuntimeError(f"optimize_for_inference: the optimised model differs from the original "
                           f"(max relative error {error:.2e} > {tolerance:g}); "
                           f"rerun with fold_batchnorm=False and report the model")
