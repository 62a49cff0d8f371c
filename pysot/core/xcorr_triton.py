"""Fused depthwise cross-correlation as a Triton kernel (CUDA only, optional).

Same contract as :func:`pysot.core.xcorr.xcorr_depthwise`: search ``x``
``[B, C, Hx, Wx]`` and kernel ``[B, C, hk, wk]`` give ``[B, C, Hx-hk+1, Wx-wk+1]``,
channel ``c`` of item ``b`` correlating only ``x[b, c]`` with ``kernel[b, c]``.

One program computes ``BLOCK`` output cells of one ``(b, c)`` plane, keeping
the ``hk x wk`` taps in registers and accumulating in float32, so the whole
correlation is one launch without the batch-into-groups reshapes and cuDNN's
per-group setup. :mod:`pysot.models.fast` times it against the cuDNN grouped
convolution per shape and uses it only where it wins. Importing this module
never fails: without Triton or a GPU, :func:`available` is False.

With ``TRITON_INTERPRET=1`` in the environment before this module is imported,
Triton's interpreter runs the same kernel on CPU tensors (slowly): that is how
the tests check the kernel on machines without a GPU.
"""
from __future__ import annotations

import os

import torch

try:  # Triton is optional: CPU-only installs and CI do without it.
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None
    tl = None

__all__ = ["available", "xcorr_depthwise_triton"]

BLOCK = 256


def interpreted() -> bool:
    """True when Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def available() -> bool:
    """True when Triton is importable and can run the kernel (a CUDA GPU, or its interpreter)."""
    return triton is not None and (torch.cuda.is_available() or interpreted())


if triton is not None:

    @triton.jit
    def _depthwise_xcorr_kernel(x_ptr, k_ptr, out_ptr, x_h, x_w, out_h, out_w,
                                KH: tl.constexpr, KW: tl.constexpr, BLOCK_SIZE: tl.constexpr):
        plane = tl.program_id(0)  # b * C + c
        offsets = tl.program_id(1) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
        valid = offsets < out_h * out_w
        row = offsets // out_w
        col = offsets % out_w
        x_plane = x_ptr + plane.to(tl.int64) * x_h * x_w
        k_plane = k_ptr + plane.to(tl.int64) * KH * KW
        acc = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
        for u in tl.static_range(KH):
            for v in tl.static_range(KW):
                tap = tl.load(k_plane + u * KW + v).to(tl.float32)
                pixels = tl.load(x_plane + (row + u) * x_w + (col + v), mask=valid, other=0.0)
                acc += pixels.to(tl.float32) * tap
        out_plane = out_ptr + plane.to(tl.int64) * out_h * out_w
        tl.store(out_plane + offsets, acc.to(out_ptr.dtype.element_ty), mask=valid)


def xcorr_depthwise_triton(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise correlation on CUDA tensors; see the module docstring for shapes."""
    if not available():
        raise RuntimeError("xcorr_depthwise_triton needs Triton and a CUDA GPU")
    if x.dim() != 4 or kernel.dim() != 4 or x.shape[:2] != kernel.shape[:2]:
        raise ValueError(f"xcorr_depthwise_triton: expected [B, C, H, W] search and [B, C, h, w] kernel with "
                         f"equal B and C, got {tuple(x.shape)} and {tuple(kernel.shape)}")
    if x.device != kernel.device or not (x.is_cuda or interpreted()):
        raise ValueError(f"xcorr_depthwise_triton: both tensors must be on the same CUDA device, got "
                         f"{x.device} and {kernel.device}")
    batch, channels, x_h, x_w = x.shape
    k_h, k_w = kernel.shape[2:]
    out_h, out_w = x_h - k_h + 1, x_w - k_w + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"xcorr_depthwise_triton: kernel {k_h}x{k_w} is larger than the search {x_h}x{x_w}")
    x = x.contiguous()  # the kernel indexes dense NCHW planes
    kernel = kernel.to(x.dtype).contiguous()
    out = torch.empty(batch, channels, out_h, out_w, device=x.device, dtype=x.dtype)
    grid = (batch * channels, triton.cdiv(out_h * out_w, BLOCK))
    _depthwise_xcorr_kernel[grid](x, kernel, out, x_h, x_w, out_h, out_w, KH=k_h, KW=k_w, BLOCK_SIZE=BLOCK)
    return out
