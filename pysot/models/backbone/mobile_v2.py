"""MobileNetV2 backbone of SiamRPN++ (PySOT's ``mobilenetv2``).

Stages ``layer0`` (stem) .. ``layer7`` (the seven inverted-residual groups).
Only ``layer0``, ``layer2`` and ``layer3`` stride, so the total stride is 8;
later groups dilate (2 from ``layer4``, 4 from ``layer6``) to keep their
receptive field growing. Stride-2 convolutions are unpadded, so a 127
template gives 15x15 maps and a 255 search 31x31.

``forward``: raw 0..255 BGR ``[B, 3, H, W]`` -> list of the ``used_layers``
stage outputs (``width_mult`` 1.4 with [3, 5, 7]: 44, 134, 448 channels).
"""
from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn as nn

from pysot.core.registry import BACKBONES

# expansion t, channels c, repeats n, stride s, dilation d of layer1..layer7
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1, 1),
    (6, 24, 2, 2, 1),
    (6, 32, 3, 2, 1),
    (6, 64, 4, 1, 2),
    (6, 96, 3, 1, 2),
    (6, 160, 3, 1, 4),
    (6, 320, 1, 1, 4),
)


class InvertedResidual(nn.Module):
    """1x1 expand -> 3x3 depthwise (strided or dilated) -> 1x1 linear projection, residual when shapes agree."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = inp * expand_ratio
        self.use_residual = stride == 1 and inp == oup
        padding = dilation if dilation > 1 else 2 - stride
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, 1, 0, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, padding, dilation=dilation, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


@BACKBONES.register("MobileNetV2", "mobilenetv2")
class MobileNetV2(nn.Module):
    def __init__(self, width_mult: float = 1.0, used_layers: Sequence[int] = (3, 5, 7)) -> None:
        super().__init__()
        used_layers = [int(i) for i in used_layers]
        if not used_layers or any(i not in range(8) for i in used_layers):
            raise ValueError(f"used_layers must be a non-empty list of 0..7, got {used_layers}")
        self.used_layers = used_layers
        input_channel = int(32 * width_mult)
        self.layer0 = nn.Sequential(
            nn.Conv2d(3, input_channel, 3, 2, 0, bias=False),
            nn.BatchNorm2d(input_channel),
            nn.ReLU6(inplace=True),
        )
        stage_channels = [input_channel]
        last_dilation = 1
        for index, (t, c, n, s, d) in enumerate(INVERTED_RESIDUAL_SETTING, start=1):
            output_channel = int(c * width_mult)
            # The first block of a newly dilated group uses half the dilation (it may also stride).
            first_dilation = d if d == last_dilation else max(d // 2, 1)
            blocks = [InvertedResidual(input_channel, output_channel, s, t, first_dilation)]
            blocks += [InvertedResidual(output_channel, output_channel, 1, t, d) for _ in range(1, n)]
            self.add_module(f"layer{index}", nn.Sequential(*blocks))
            input_channel = output_channel
            last_dilation = d
            stage_channels.append(output_channel)
        self.feature_channels = [stage_channels[i] for i in used_layers]
        self._last_needed = max(used_layers)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        outputs = []
        for index in range(self._last_needed + 1):
            x = getattr(self, f"layer{index}")(x)
            outputs.append(x)
        return [outputs[i] for i in self.used_layers]
