"""AlexNet of SiamFC (Bertinetto et al., 2016), with batch norm.

Five valid convolutions, ``conv2``/``conv4``/``conv5`` split in two groups as
in the original two-GPU AlexNet, 256 output channels, total stride 8:
exemplar 127 -> 6x6, instance 255 -> 22x22 (response 17x17).
Input: raw 0..255 BGR ``[B, 3, H, W]``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from pysot.core.registry import BACKBONES


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1,
             eps: float = 1e-6, momentum: float = 0.05) -> list:
    # Small momentum / eps: the SiamFC training recipe (BN statistics drift slowly over many small batches).
    return [nn.Conv2d(in_channels, out_channels, kernel_size, stride, groups=groups),
            nn.BatchNorm2d(out_channels, eps=eps, momentum=momentum)]


@BACKBONES.register("SiamFCAlexNet", "siamfc_alexnet")
class SiamFCAlexNet(nn.Module):
    """``forward``: ``[B, 3, H, W]`` -> ``[B, 256, (H-127)/8+6, (W-127)/8+6]``."""

    def __init__(self) -> None:
        super().__init__()
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        pool = lambda: nn.MaxPool2d(3, 2)  # noqa: E731
        self.conv1 = nn.Sequential(*_conv_bn(3, 96, 11, 2), relu(), pool())
        self.conv2 = nn.Sequential(*_conv_bn(96, 256, 5, groups=2), relu(), pool())
        self.conv3 = nn.Sequential(*_conv_bn(256, 384, 3), relu())
        self.conv4 = nn.Sequential(*_conv_bn(384, 384, 3, groups=2), relu())
        self.conv5 = nn.Sequential(nn.Conv2d(384, 256, 3, 1, groups=2))
        self.feature_size = 256

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5):
            x = stage(x)
        return x
