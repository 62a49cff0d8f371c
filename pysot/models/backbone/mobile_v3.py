"""MobileNetV3-small backbone of NanoTrack (``mobilenetv3_small``, ``mobilenetv3_small_v3``).

The block table and module layout are those of the NanoTrack release, so its
snapshots load with their own key names (``backbone.features.<i>.conv.<j>``).
Every stride-2 convolution is padded, so the total stride is 16: a 127
template gives 8x8 maps and a 255 search 16x16.

Stages (what ``used_layers`` indexes): 0 the stem (stride 2, 16 channels),
1 the first block (stride 4, 16), 2 blocks 2-3 (stride 8, 24), 3 blocks 4-6
(stride 16, 40), 4 the remaining blocks (stride 16; 48 channels, 96 for the
V3 table whose extra block keeps stride 1).

``forward``: raw 0..255 BGR ``[B, 3, H, W]`` -> ``[B, C, H/16, W/16]`` for one
used layer (NanoTrack's ``used_layers: [4]``), else a list of the stage outputs.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn

from pysot.core.registry import BACKBONES
from pysot.models.init import init_like_release

# kernel k, expansion t, output channels c, squeeze-excite, hard-swish, stride s
SMALL_BLOCKS: Tuple[Tuple[int, float, int, bool, bool, int], ...] = (
    (3, 1, 16, True, False, 2),
    (3, 4.5, 24, False, False, 2),
    (3, 3.67, 24, False, False, 1),
    (5, 4, 40, True, True, 2),
    (5, 6, 40, True, True, 1),
    (5, 6, 40, True, True, 1),
    (5, 3, 48, True, True, 1),
    (5, 3, 48, True, True, 1),
)
# NanoTrack V3 appends a stride-1 block (the classification network's last stride-2 block, unstrided).
SMALL_V3_BLOCKS = SMALL_BLOCKS + ((5, 6, 96, True, True, 1),)

# first index into ``features`` of stages 1..4 (stage 0 is features[0])
STAGE_STARTS = (1, 2, 4, 7)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10%."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class SqueezeExcite(nn.Module):
    """Channel gating ``x * hardsigmoid(fc(relu(fc(mean(x)))))``; ``fc`` keeps the release's key names."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = make_divisible(channels // reduction, 8)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                nn.Linear(hidden, channels), nn.Hardsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        return x * self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)


class InvertedResidualV3(nn.Module):
    """(1x1 expand) -> kxk depthwise -> (SE) -> 1x1 projection, residual when shapes agree.

    Without expansion (``hidden == inp``) the SE gate follows the activation; with
    it, the gate sits between the depthwise BN and the activation, as in the release.
    """

    def __init__(self, inp: int, hidden: int, oup: int, kernel: int, stride: int, use_se: bool,
                 use_hs: bool) -> None:
        super().__init__()
        self.identity = stride == 1 and inp == oup

        def act() -> nn.Module:
            return nn.Hardswish() if use_hs else nn.ReLU(inplace=True)

        def gate() -> nn.Module:
            return SqueezeExcite(hidden) if use_se else nn.Identity()

        depthwise = [nn.Conv2d(hidden, hidden, kernel, stride, (kernel - 1) // 2, groups=hidden, bias=False),
                     nn.BatchNorm2d(hidden)]
        project = [nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        if inp == hidden:
            layers = depthwise + [act(), gate()] + project
        else:
            expand = [nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), act()]
            layers = expand + depthwise + [gate(), act()] + project
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.identity else self.conv(x)


class MobileNetV3Small(nn.Module):
    """MobileNetV3-small trunk (no classifier). See the module docstring for stages and shapes.

    Args:
        blocks: the block table (:data:`SMALL_BLOCKS` or :data:`SMALL_V3_BLOCKS`).
        used_layers: stage indices 0..4 whose outputs ``forward`` returns.
        width_mult: channel multiplier (the released models use 1.0).
    """

    def __init__(self, blocks: Sequence[Sequence] = SMALL_BLOCKS, used_layers: Sequence[int] = (4,),
                 width_mult: float = 1.0) -> None:
        super().__init__()
        self.used_layers = [int(i) for i in used_layers]
        if not self.used_layers or any(i < 0 or i > 4 for i in self.used_layers):
            raise ValueError(f"used_layers {list(used_layers)}: stage indices must be in 0..4")
        channels = make_divisible(16 * width_mult, 8)
        layers: List[nn.Module] = [nn.Sequential(nn.Conv2d(3, channels, 3, 2, 1, bias=False),
                                                 nn.BatchNorm2d(channels), nn.Hardswish())]
        self.stage_channels = [channels]
        for i, (k, t, c, use_se, use_hs, s) in enumerate(blocks, start=1):
            out = make_divisible(c * width_mult, 8)
            layers.append(InvertedResidualV3(channels, make_divisible(channels * t, 8), out, k, s, use_se, use_hs))
            channels = out
            if i + 1 in STAGE_STARTS or i == len(blocks):
                self.stage_channels.append(channels)
        self.features = nn.Sequential(*layers)
        self.channels = [self.stage_channels[i] for i in self.used_layers]
        init_like_release([self], linear_std=0.01)


    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, List[torch.Tensor]]:
        if self.used_layers == [4]:
            return self.features(x)
        bounds = (0,) + STAGE_STARTS + (len(self.features),)
        outputs = []
        for stage in range(max(self.used_layers) + 1):
            for layer in self.features[bounds[stage]:bounds[stage + 1]]:
                x = layer(x)
            outputs.append(x)
        picked = [outputs[i] for i in self.used_layers]
        return picked[0] if len(picked) == 1 else picked


@BACKBONES.register("mobilenetv3_small", "MobileNetV3Small")
def mobilenetv3_small(used_layers: Sequence[int] = (4,), width_mult: float = 1.0) -> MobileNetV3Small:
    """NanoTrack V1/V2 backbone: 48 output channels at stride 16."""
    return MobileNetV3Small(SMALL_BLOCKS, used_layers, width_mult)


@BACKBONES.register("mobilenetv3_small_v3")
def mobilenetv3_small_v3(used_layers: Sequence[int] = (4,), width_mult: float = 1.0) -> MobileNetV3Small:
    """NanoTrack V3 backbone: one more (stride-1) block, 96 output channels at stride 16."""
    return MobileNetV3Small(SMALL_V3_BLOCKS, used_layers, width_mult)
