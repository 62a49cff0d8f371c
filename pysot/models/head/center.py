"""Centre head (OSTrack / VitTrack): score, size and offset maps from one feature map."""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn

from pysot.core.registry import HEADS

__all__ = ["CenterPredictor", "decode_center"]


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=True), nn.BatchNorm2d(out_channels),
                         nn.ReLU(inplace=True))


def _branch(in_channels: int, channels: int, out_channels: int, name: str, module: nn.Module) -> None:
    """Four conv-BN-ReLU (``channels``, /2, /4, /8) and a 1x1 conv, as ``conv1_<name>`` .. ``conv5_<name>``."""
    widths = [in_channels, channels, channels // 2, channels // 4, channels // 8]
    for i in range(4):
        module.add_module(f"conv{i + 1}_{name}", _conv_bn_relu(widths[i], widths[i + 1]))
    module.add_module(f"conv5_{name}", nn.Conv2d(widths[4], out_channels, kernel_size=1))


def _clamped_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # The original clamps to [1e-4, 1 - 1e-4] so the focal loss's logs stay finite.
    return torch.clamp(x.sigmoid(), min=1e-4, max=1 - 1e-4)


@HEADS.register()
class CenterPredictor(nn.Module):
    """``forward(feat [B, C, F, F])`` -> ``(score [B, 1, F, F], size [B, 2, F, F], offset [B, 2, F, F])``.

    ``score``: target-centre probability per cell (sigmoid). ``size``: box ``w, h`` as a fraction of
    the search crop (sigmoid). ``offset``: the centre's sub-cell position ``dx, dy`` in cells (raw).
    The box of cell ``(i, j)`` is ``cx = (j + dx) / F``, ``cy = (i + dy) / F`` (crop fractions).

    Args:
        in_channels: feature channels ``C`` (the backbone's ``embed_dim``).
        channels: first conv width of each branch (``NUM_CHANNELS`` of the original: 32 in VitTrack);
            the branches narrow to /2, /4, /8.
        feat_size: ``F`` (search side / 16).
    """

    def __init__(self, in_channels: int = 48, channels: int = 32, feat_size: int = 16) -> None:
        super().__init__()
        if channels < 8 or channels % 8:
            raise ValueError(f"channels ({channels}) must be a multiple of 8 (the branches narrow to channels / 8)")
        self.feat_size = int(feat_size)
        _branch(in_channels, channels, 1, "ctr", self)
        _branch(in_channels, channels, 2, "offset", self)
        _branch(in_channels, channels, 2, "size", self)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def _run(self, name: str, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 6):
            x = self._modules[f"conv{i}_{name}"](x)
        return x

    def forward(self, feat: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        score = _clamped_sigmoid(self._run("ctr", feat))
        size = _clamped_sigmoid(self._run("size", feat))
        offset = self._run("offset", feat)
        return score, size, offset


def decode_center(score: torch.Tensor, size: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Box ``[B, 4]`` ``cx, cy, w, h`` (search-crop fractions) at each map's arg-max cell.

    ``score`` ``[B, 1, F, F]`` (e.g. already multiplied by a window, or a ground-truth heat map),
    ``size``/``offset`` ``[B, 2, F, F]``. Ties go to the first cell in row-major order.
    """
    feat = score.shape[-1]
    idx = score.flatten(1).argmax(dim=1, keepdim=True)  # [B, 1]
    gather = idx.unsqueeze(1).expand(-1, 2, 1)
    wh = size.flatten(2).gather(2, gather).squeeze(-1)
    off = offset.flatten(2).gather(2, gather).squeeze(-1)
    col = (idx % feat).to(score.dtype)
    row = torch.div(idx, feat, rounding_mode="floor").to(score.dtype)
    return torch.cat([(col + off[:, :1]) / feat, (row + off[:, 1:]) / feat, wh], dim=1)
