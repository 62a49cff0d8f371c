"""Cross-correlation between search features and template "kernels".

Two flavours are used by Siamese trackers:

* **UP-channel** (SiamRPN, DaSiamRPN, SiamFC): every template produces ``K``
  full ``C``-channel kernels; each is correlated with all ``C`` search channels
  and summed, giving ``K`` output maps.
* **Depthwise** (SiamRPN++, SiamMask): channel ``c`` of the template is
  correlated with channel ``c`` of the search only, giving ``C`` output maps.
* **Pixel-wise** (NanoTrack): every template cell's ``C``-vector is a 1x1
  kernel, giving ``hk * wk`` output maps of the search's size.

All functions are "valid" correlations (no padding, stride 1): an ``Hx x Wx``
search and an ``hk x wk`` kernel give ``(Hx - hk + 1) x (Wx - wk + 1)`` maps.
Template ``b`` is only ever matched with search ``b`` of the same batch.

The ``*_slow`` / ``*_naive`` versions loop over the batch and exist as
references for the tests; the fast versions fold the batch into the channel
axis and run one grouped convolution (a single cuDNN call on GPU).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["xcorr_slow", "xcorr_fast", "xcorr_depthwise", "xcorr_depthwise_naive", "xcorr_pixelwise"]


def _check_pair(x: torch.Tensor, kernel: torch.Tensor, name: str) -> None:
    if x.dim() != 4 or kernel.dim() != 4:
        raise ValueError(f"{name}: expected 4-D search and kernel, got {tuple(x.shape)} and {tuple(kernel.shape)}")
    if x.size(0) != kernel.size(0):
        raise ValueError(f"{name}: batch sizes differ (search {x.size(0)}, kernel {kernel.size(0)})")


def _up_channel_kernels(x: torch.Tensor, kernel: torch.Tensor) -> int:
    """Number ``K`` of C-channel kernels packed in ``kernel``'s channel axis."""
    # int(): a constant when traced for ONNX (the channel count is fixed by the network), so the
    # correlation weight keeps a static shape even when the search side is a dynamic axis.
    channels = int(x.size(1))
    if kernel.size(1) % channels:
        raise ValueError(
            f"xcorr: kernel channels {kernel.size(1)} are not a multiple of search channels {channels}"
        )
    return kernel.size(1) // channels


def xcorr_slow(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """UP-channel correlation, one ``conv2d`` per batch item (reference).

    Args:
        x: search features ``[B, C, Hx, Wx]``.
        kernel: template kernels ``[B, K*C, hk, wk]``; channel ``k*C + c`` is
            channel ``c`` of kernel ``k`` (the layout of PySOT / DaSiamRPN).
    Returns:
        ``[B, K, Hx-hk+1, Wx-wk+1]``.
    """
    _check_pair(x, kernel, "xcorr_slow")
    num_kernels = _up_channel_kernels(x, kernel)
    out = []
    for b in range(x.size(0)):
        weight = kernel[b].reshape(num_kernels, x.size(1), kernel.size(2), kernel.size(3))
        out.append(F.conv2d(x[b : b + 1], weight))
    return torch.cat(out, dim=0)


def xcorr_fast(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """UP-channel correlation as one grouped convolution; same contract as :func:`xcorr_slow`."""
    _check_pair(x, kernel, "xcorr_fast")
    num_kernels = _up_channel_kernels(x, kernel)
    # Sizes from the kernel and flatten/unflatten for the search: an ONNX export with a dynamic
    # search side then keeps the correlation weight's shape static, as its Conv needs.
    batch, channels = kernel.size(0), kernel.size(1) // num_kernels
    weight = kernel.reshape(batch * num_kernels, channels, kernel.size(2), kernel.size(3))
    out = F.conv2d(x.flatten(0, 1).unsqueeze(0), weight, groups=batch)
    return out.squeeze(0).unflatten(0, (batch, num_kernels))


def xcorr_depthwise(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise correlation as one grouped convolution.

    Args:
        x: search features ``[B, C, Hx, Wx]``.
        kernel: template features ``[B, C, hk, wk]``.
    Returns:
        ``[B, C, Hx-hk+1, Wx-wk+1]``; channel ``c`` correlates only ``x[:, c]`` with ``kernel[:, c]``.
    """
    _check_pair(x, kernel, "xcorr_depthwise")
    if x.size(1) != kernel.size(1):
        raise ValueError(f"xcorr_depthwise: channels differ (search {x.size(1)}, kernel {kernel.size(1)})")
    batch, channels = kernel.size(0), kernel.size(1)
    weight = kernel.reshape(batch * channels, 1, kernel.size(2), kernel.size(3))
    out = F.conv2d(x.reshape(1, batch * channels, x.size(2), x.size(3)), weight, groups=batch * channels)
    return out.reshape(batch, channels, out.size(2), out.size(3))


def xcorr_depthwise_naive(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise correlation by explicit sliding-window sums (reference for the tests)."""
    _check_pair(x, kernel, "xcorr_depthwise_naive")
    hk, wk = kernel.size(2), kernel.size(3)
    out_h, out_w = x.size(2) - hk + 1, x.size(3) - wk + 1
    out = x.new_zeros(x.size(0), x.size(1), out_h, out_w)
    for i in range(hk):
        for j in range(wk):
            out += x[:, :, i : i + out_h, j : j + out_w] * kernel[:, :, i : i + 1, j : j + 1]
    return out


def xcorr_pixelwise(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Pixel-wise correlation: the dot product of every template cell with every search cell.

    Args:
        x: search features ``[B, C, Hx, Wx]``.
        kernel: template features ``[B, C, hk, wk]``.
    Returns:
        ``[B, hk*wk, Hx, Wx]``; channel ``i*wk + j`` is ``sum_c kernel[:, c, i, j] * x[:, c]``.
    """
    _check_pair(x, kernel, "xcorr_pixelwise")
    if x.size(1) != kernel.size(1):
        raise ValueError(f"xcorr_pixelwise: channels differ (search {x.size(1)}, kernel {kernel.size(1)})")
    cells = kernel.flatten(2).transpose(1, 2)  # [B, hk*wk, C]
    return torch.matmul(cells, x.flatten(2)).unflatten(2, (x.size(2), x.size(3)))
