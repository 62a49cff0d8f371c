"""The fused convolution of the fast path: ``Conv2d`` + folded BatchNorm + activation post-op.

On the CPU in float32 (inference, no autograd) the forward picks the cheaper kernel:

* a 1x1 convolution on a map of at most ``GEMM_MAX_PIXELS`` pixels (the squeeze-excite
  and gate layers on pooled ``1x1`` maps) is one BLAS matrix product, with the bias and
  the activation applied in place (no per-call set-up at all);
* any other convolution, 1x1 ones on larger maps included, is one oneDNN call with the
  activation as a post-op, on a weight reordered once into oneDNN's blocked layout
  (oneDNN would otherwise reorder it on every call).

Elsewhere (CUDA, autograd, tracing for ONNX export) it is ``F.conv2d`` and the
activation, the standard ops.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# Activations a convolution can run as a post-op: name -> oneDNN (post-op, scalars).
_POST_OPS = {"none": ("none", []), "relu": ("relu", []), "relu6": ("hardtanh", [0.0, 6.0]),
             "hardswish": ("hardswish", [])}
# Activation modules fused by :func:`fold_and_fuse`, and the post-op each becomes.
_ACTIVATIONS = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "hardswish"}
# Monotone ones commute with a max-pool, so they may also be fused across one.
_MONOTONE = {"relu", "relu6"}


def _mkldnn_pointwise_available() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
    except (AttributeError, RuntimeError):
        return False


# Largest map (pixels per image) on which a 1x1 convolution runs as a BLAS product rather than
# on oneDNN. Measured with torch 2.14.1 on one AVX-512 core: on a pooled 1x1 map the product
# takes 5 us and oneDNN 20 us (its per-call set-up); on the 16x16 and larger maps of NanoTrack's
# backbone and towers oneDNN's packed kernel with its fused post-op mostly takes 25-45% less time
# (e.g. 63 vs 108 us for the twinned 2 x 96-channel towers on 16x16, 81 vs 141 us for 16 -> 72 on
# 64x64; 2 of NanoTrack V2's 22 such layers were 1-3 us slower).
GEMM_MAX_PIXELS = 16


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
        """Absorb the eval-mode affine map of ``bn`` (running statistics) into weight and bias.

        The scale ``alpha = weight / sqrt(var + eps)`` and shift ``beta = bias - mean * alpha``
        are computed in the parameters' own precision, as PyTorch's BatchNorm kernel computes
        them for every eval-mode call, not in float64: the exact constants differ from the
        ones the original networks applied by up to an ulp, and on NanoTrack V3 ``bag`` that
        difference alone flipped one frame's best point (1.7 px from the original code).
        """
        if bn.running_mean is None or bn.running_var is None:
            raise ValueError("FusedConv2d: cannot fold a BatchNorm2d without running statistics")
        var, mean = bn.running_var.detach(), bn.running_mean.detach()
        gamma = bn.weight.detach() if bn.weight is not None else torch.ones_like(var)
        shift = bn.bias.detach() if bn.bias is not None else torch.zeros_like(mean)
        alpha = gamma * (1.0 / torch.sqrt(var + bn.eps))
        beta = shift - mean * alpha
        if self.bias is not None:
            beta = beta + self.bias.detach() * alpha
        dtype = self.weight.dtype
        self.weight = nn.Parameter((self.weight.detach() * alpha.reshape(-1, 1, 1, 1)).to(dtype),
                                   requires_grad=False)
        self.bias = nn.Parameter(beta.to(dtype), requires_grad=False)
        self._forget_kernels()

    def set_activation(self, activation: str) -> None:
        if self.activation != "none":
            raise ValueError(f"FusedConv2d already has the activation {self.activation!r}")
        self.activation = activation
        self._forget_kernels()

    def extra_repr(self) -> str:
        out_c, in_c = self.weight.shape[0], self.weight.shape[1] * self.groups
        return (f"{in_c}, {out_c}, kernel_size={tuple(self.weight.shape[2:])}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"activation={self.activation}")

    # ------------------------------------------------------------------ CPU kernels
    # The kernels are prepared once (derived weights, argument lists) and kept as closures:
    # per call, the module's Python around a 16x16-map convolution otherwise costs as much as
    # the convolution (~20 us of attribute lookups and checks). Anything that changes the
    # weights drops them: a device/dtype move (_apply), load_state_dict, fold_batchnorm.
    def _forget_kernels(self) -> None:
        self.__dict__.pop("_cpu_kernel", None)

    def _apply(self, fn, recurse=True):
        self._forget_kernels()
        return super()._apply(fn, recurse)

    def _load_from_state_dict(self, *args, **kwargs):
        self._forget_kernels()
        return super()._load_from_state_dict(*args, **kwargs)

    def __getstate__(self):  # pickling and deepcopy: the prepared kernel is a closure, rebuilt on demand
        state = self.__dict__.copy()
        state.pop("_cpu_kernel", None)
        return state

    @property
    def is_pointwise(self) -> bool:
        """1x1, stride 1, unpadded: a matrix product over the pixels (one per group)."""
        return self.weight.shape[2:] == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0)

    def _activation_(self):
        """The activation as an in-place function (``None`` for none)."""
        if self.activation == "relu":
            return torch.relu_
        if self.activation == "relu6":
            return lambda y: F.hardtanh_(y, 0.0, 6.0)
        if self.activation == "hardswish":
            return lambda y: F.hardswish(y, inplace=True)
        return None

    def _make_cpu_kernel(self, x: torch.Tensor):
        """``kernel(x) -> y`` for float32 CPU inference; returns ``None`` for an input it does not cover."""
        weight, bias, groups = self.weight.detach(), self.bias, self.groups
        gemm = self._gemm_kernel(weight, None if bias is None else bias.detach(), groups) if self.is_pointwise else None
        try:  # the weight in oneDNN's blocked layout, reordered once instead of on every call
            packed = torch.ops.mkldnn._reorder_convolution_weight(
                weight, list(self.padding), list(self.stride), list(self.dilation), groups, list(x.shape))
        except (AttributeError, RuntimeError):  # pragma: no cover - depends on the torch build
            packed = weight
        convolution = torch.ops.mkldnn._convolution_pointwise.default
        args = (packed, None if bias is None else bias.detach(), list(self.padding), list(self.stride),
                list(self.dilation), groups) + _POST_OPS[self.activation] + (None,)

        def onednn(x: torch.Tensor) -> torch.Tensor:
            return convolution(x, *args)

        if gemm is None:
            return onednn

        def pointwise(x: torch.Tensor) -> Optional[torch.Tensor]:
            # The choice is per call: one layer may see pooled and full-size maps.
            if x.shape[2] * x.shape[3] <= GEMM_MAX_PIXELS:
                return gemm(x)
            return onednn(x)

        return pointwise

    def _gemm_kernel(self, weight: torch.Tensor, bias: Optional[torch.Tensor], groups: int):
        """The 1x1 convolution as BLAS matrix products over the pixels, bias and activation in place.

        oneDNN spends ~15-20 us of set-up on each call, more than the arithmetic of a 1x1
        convolution on a small map (the gates' layers on pooled maps, ``GEMM_MAX_PIXELS``); a
        matrix product has almost none. Channels-last ``[B, C, H, W]`` is a ``[B*H*W, C]`` matrix,
        and a grouped convolution one batched product over column blocks of it. NCHW input
        (the plain layout) is one ``[O, C] x [C, H*W]`` product per image; other layouts and
        grouped NCHW return ``None`` (``F.conv2d`` then runs them).
        """
        out, c = weight.shape[0], weight.shape[1] * groups
        activate = self._activation_()
        if groups == 1:
            weight_t = weight.reshape(out, c).t().contiguous()  # [C, O]
        else:
            weight_t = weight.reshape(groups, out // groups, c // groups).transpose(1, 2).contiguous()
        weight_nchw = weight.reshape(out, c) if groups == 1 else None
        bias_column = None if bias is None else bias.reshape(out, 1)

        def gemm(x: torch.Tensor) -> Optional[torch.Tensor]:
            n, _, h, w = x.shape
            if x.is_contiguous(memory_format=torch.channels_last):
                rows = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
                if groups == 1:
                    y = torch.mm(rows, weight_t)
                else:
                    y = torch.empty(n * h * w, groups, out // groups, dtype=x.dtype)
                    torch.bmm(rows.view(n * h * w, groups, c // groups).transpose(0, 1), weight_t,
                              out=y.transpose(0, 1))
                    y = y.view(n * h * w, out)
                if bias is not None:
                    y.add_(bias)
                if activate is not None:
                    activate(y)
                return y.view(n, h, w, out).permute(0, 3, 1, 2)
            if groups == 1 and x.is_contiguous():
                y = torch.matmul(weight_nchw, x.reshape(n, c, h * w))
                if bias_column is not None:
                    y.add_(bias_column)
                if activate is not None:
                    activate(y)
                return y.view(n, out, h, w)
            return None

        return gemm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.is_cpu and x.dtype is torch.float32 and self.use_mkldnn and not torch.is_grad_enabled()
                and torch._C._get_tracing_state() is None  # the ONNX exporter knows F.conv2d, not these
                and not torch.is_autocast_enabled("cpu")  # autocast only rewrites the standard ops
                and x.dim() == 4):
            kernel = self.__dict__.get("_cpu_kernel")
            if kernel is None and self.weight.dtype == torch.float32:
                kernel = self.__dict__["_cpu_kernel"] = self._make_cpu_kernel(x)
            if kernel is not None:
                y = kernel(x)
                if y is not None:
                    return y
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.activation == "relu":
            return F.relu(y)
        if self.activation == "relu6":
            return F.hardtanh(y, 0.0, 6.0)
        if self.activation == "hardswish":
            return F.hardswish(y)
        return y
