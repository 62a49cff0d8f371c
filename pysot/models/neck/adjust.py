"""Necks that bring backbone features to the head's channel count (PySOT ``ADJUST``)."""
from __future__ import annotations

from typing import List, Sequence, Union

import torch
import torch.nn as nn

from pysot.core.registry import NECKS

Features = Union[torch.Tensor, List[torch.Tensor]]


@NECKS.register()
class AdjustLayer(nn.Module):
    """1x1 conv (no bias) + BN, then a centre crop of template-sized maps.

    The crop is decided by width, as in PySOT: maps narrower than
    ``crop_below`` (the 15x15 template features of the stride-8 ResNet /
    MobileNet) are cut to their central ``center_size`` x ``center_size``
    window (``[4:11, 4:11]`` for 15x15), which drops the padding-polluted
    border; search maps (31x31) pass unchanged.

    ``forward``: ``[B, in_channels, H, W]`` -> ``[B, out_channels, H', W']``.
    """

    def __init__(self, in_channels: int, out_channels: int, center_size: int = 7, crop_below: int = 20) -> None:
        super().__init__()
        self.downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.center_size = center_size
        self.crop_below = crop_below

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        if x.size(3) < self.crop_below:
            left = (x.size(3) - self.center_size) // 2
            x = x[:, :, left : left + self.center_size, left : left + self.center_size]
        return x


@NECKS.register()
class AdjustAllLayer(nn.Module):
    """One :class:`AdjustLayer` per backbone level.

    Parameter names follow PySOT: a single level is ``downsample.*``, several
    levels are ``downsample2.*``, ``downsample3.*``, ... (numbered from 2 like
    ResNet's layer2..layer4). ``forward`` takes a tensor (single level) or a
    list with one ``[B, in_channels[i], H, W]`` tensor per level and returns
    the same structure.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int], center_size: int = 7) -> None:
        super().__init__()
        in_channels, out_channels = list(in_channels), list(out_channels)
        if len(in_channels) != len(out_channels) or not in_channels:
            raise ValueError(
                f"in_channels {in_channels} and out_channels {out_channels} must be non-empty and of equal length"
            )
        self.num_levels = len(out_channels)
        if self.num_levels == 1:
            self.downsample = AdjustLayer(in_channels[0], out_channels[0], center_size)
        else:
            for level, (cin, cout) in enumerate(zip(in_channels, out_channels), start=2):
                self.add_module(f"downsample{level}", AdjustLayer(cin, cout, center_size))

    def forward(self, features: Features) -> Features:
        if self.num_levels == 1:
            if isinstance(features, (list, tuple)):
                (features,) = features
            return self.downsample(features)
        if len(features) != self.num_levels:
            raise ValueError(f"AdjustAllLayer expects {self.num_levels} feature levels, got {len(features)}")
        return [getattr(self, f"downsample{level}")(f) for level, f in enumerate(features, start=2)]


@NECKS.register()
class NanoAdjustLayer(nn.Module):
    """NanoTrack's neck: a 1x1 conv + BN applied only when the channel counts differ.

    The released NanoTrack models build it with ``in_channels == out_channels``
    and never run it, so their features reach the head unchanged; the layer
    exists so that their snapshots (which hold ``neck.downsample.*``) load
    strictly. ``forward``: ``[B, in_channels, H, W]`` -> ``[B, out_channels, H, W]``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) if self.in_channels != self.out_channels else x
