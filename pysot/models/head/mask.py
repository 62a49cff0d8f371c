"""SiamMask heads: the mask correlation branch and the refinement module."""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from pysot.core.registry import MASK_HEADS, REFINE_HEADS
from pysot.models.head.rpn import DepthwiseXCorr


@MASK_HEADS.register("MaskCorr")
class MaskCorr(DepthwiseXCorr):
    """Depthwise correlation whose head predicts a coarse 63x63 mask per cell.

    ``match(kernel, x_f)`` returns ``(mask, corr_feature)``: ``mask``
    ``[B, out_channels, H, W]`` (63*63 logits per cell) and the correlation
    feature ``[B, hidden, H, W]`` that :class:`Refine` decodes.
    """

    def __init__(self, in_channels: int = 256, hidden: int = 256, out_channels: int = 63 * 63) -> None:
        super().__init__(in_channels, hidden, out_channels)

    def match(self, kernel: torch.Tensor, x_f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        feature = self.correlate(kernel, x_f)
        return self.head(feature), feature


def _two_convs(in_channels: int, mid_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, mid_channels, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid_channels, out_channels, 3, padding=1),
        nn.ReLU(inplace=True),
    )


@REFINE_HEADS.register("Refine")
class Refine(nn.Module):
    """SiamMask refinement: upsample one cell's correlation feature to a 127x127 mask.

    ``forward(low_level, corr_feature, pos)`` with ``low_level`` = the search
    crop's ResNet outputs ``[stem [B,64,125,125], layer1 [B,256,63,63],
    layer2 [B,512,31,31]]`` (for a 255 crop), ``corr_feature`` ``[B,256,25,25]``
    and ``pos = (row, col)`` of the chosen cell. Each level is cropped around
    the cell (61, 31 and 15 px windows, at strides 4, 2, 1 in those maps after
    zero padding), merged top-down, and the result is ``[B, 127*127]`` mask
    logits for the 127x127 exemplar-sized window of that cell.
    """

    def __init__(self) -> None:
        super().__init__()
        self.v0 = _two_convs(64, 16, 4)
        self.v1 = _two_convs(256, 64, 16)
        self.v2 = _two_convs(512, 128, 32)
        self.h2 = _two_convs(32, 32, 32)
        self.h1 = _two_convs(16, 16, 16)
        self.h0 = _two_convs(4, 4, 4)
        self.deconv = nn.ConvTranspose2d(256, 32, 15, 15)
        self.post0 = nn.Conv2d(32, 16, 3, padding=1)
        self.post1 = nn.Conv2d(16, 4, 3, padding=1)
        self.post2 = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, low_level: Sequence[torch.Tensor], corr_feature: torch.Tensor,
                pos: Tuple[int, int]) -> torch.Tensor:
        if len(low_level) != 3:
            raise ValueError(
                f"Refine needs 3 low-level feature maps (ResNet used_layers 0, 1, 2), got {len(low_level)}"
            )
        row, col = int(pos[0]), int(pos[1])
        p0 = F.pad(low_level[0], [16, 16, 16, 16])[:, :, 4 * row : 4 * row + 61, 4 * col : 4 * col + 61]
        p1 = F.pad(low_level[1], [8, 8, 8, 8])[:, :, 2 * row : 2 * row + 31, 2 * col : 2 * col + 31]
        p2 = F.pad(low_level[2], [4, 4, 4, 4])[:, :, row : row + 15, col : col + 15]
        p3 = corr_feature[:, :, row : row + 1, col : col + 1]
        out = self.deconv(p3)
        out = self.post0(F.interpolate(self.h2(out) + self.v2(p2), size=(31, 31)))
        out = self.post1(F.interpolate(self.h1(out) + self.v1(p1), size=(61, 61)))
        out = self.post2(F.interpolate(self.h0(out) + self.v0(p0), size=(127, 127)))
        return out.reshape(out.size(0), 127 * 127)
