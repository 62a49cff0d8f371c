"""AlexNet backbones of SiamRPN / DaSiamRPN (PySOT's ``alexnetlegacy`` and ``alexnet``).

Both have five valid (unpadded) convolutions with batch norm and a total
stride of 8: a 127x127 template gives 6x6 features, a 255x255 search 22x22
(271 -> 24, 287 -> 26). Channel widths 96/256/384/384/256 are multiplied by
``width_mult`` (DaSiamRPN's "BIG" network is width 2). Input: raw 0..255 BGR.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn

from pysot.core.registry import BACKBONES

BASE_WIDTHS = (96, 256, 384, 384, 256)


def _widths(width_mult: float) -> List[int]:
    if width_mult <= 0:
        raise ValueError(f"width_mult must be positive, got {width_mult}")
    return [3] + [int(c * width_mult) for c in BASE_WIDTHS]


def _alexnet_stages(width_mult: float) -> List[List[nn.Module]]:
    """The five stages as module lists; both variants share them, only the grouping differs."""
    c = _widths(width_mult)
    return [
        [nn.Conv2d(c[0], c[1], kernel_size=11, stride=2), nn.BatchNorm2d(c[1]),
         nn.MaxPool2d(kernel_size=3, stride=2), nn.ReLU(inplace=True)],
        [nn.Conv2d(c[1], c[2], kernel_size=5), nn.BatchNorm2d(c[2]),
         nn.MaxPool2d(kernel_size=3, stride=2), nn.ReLU(inplace=True)],
        [nn.Conv2d(c[2], c[3], kernel_size=3), nn.BatchNorm2d(c[3]), nn.ReLU(inplace=True)],
        [nn.Conv2d(c[3], c[4], kernel_size=3), nn.BatchNorm2d(c[4]), nn.ReLU(inplace=True)],
        # No ReLU after the last BN: the heads see signed features.
        [nn.Conv2d(c[4], c[5], kernel_size=3), nn.BatchNorm2d(c[5])],
    ]


@BACKBONES.register("AlexNetLegacy", "alexnetlegacy")
class AlexNetLegacy(nn.Module):
    """One flat ``features`` Sequential (keys ``features.{0,1,4,5,8,9,11,12,14,15}.*``),
    the layout of DaSiamRPN's ``featureExtract`` and PySOT's ``alexnetlegacy``.

    ``forward``: ``[B, 3, H, W]`` -> ``[B, 256*width_mult, (H-127)/8+6, ...]``.
    """

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        self.features = nn.Sequential(*[m for stage in _alexnet_stages(width_mult) for m in stage])
        self.feature_size = _widths(width_mult)[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


@BACKBONES.register("AlexNet", "alexnet")
class AlexNet(nn.Module):
    """Same network as :class:`AlexNetLegacy`, grouped as ``layer1`` .. ``layer5`` (PySOT's ``alexnet``)."""

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        for index, stage in enumerate(_alexnet_stages(width_mult), start=1):
            self.add_module(f"layer{index}", nn.Sequential(*stage))
        self.feature_size = _widths(width_mult)[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index in range(1, 6):
            x = getattr(self, f"layer{index}")(x)
        return x
