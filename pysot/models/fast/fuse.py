"""The fused convolution of the fast path: ``Conv2d`` + folded BatchNorm + activation post-op.

On the CPU in float32 the forward is one oneDNN call (convolution with the
activation as a post-op), so the feature map is not read twice.
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
        if self.activation == "hardswish":
            return F.hardswish(y)
        return y
