"""Region-proposal heads of SiamRPN (UP-channel), SiamRPN++ (depthwise, multi-level).

Outputs for ``A`` anchors per position: ``cls`` ``[B, 2A, H, W]`` (channel
``a`` / ``A + a``: background / foreground logit of anchor ``a``, PySOT's
layout) and ``loc`` ``[B, 4A, H, W]`` (``dx, dy, dw, dh`` blocks of ``A``).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from pysot.core.registry import HEADS
from pysot.core.xcorr import xcorr_depthwise, xcorr_fast
from pysot.models.head.base import HeadOutput, SiameseHead


@HEADS.register("UPChannelRPN")
class UPChannelRPN(SiameseHead):
    """SiamRPN / DaSiamRPN head: the template is "up-channelled" into correlation kernels.

    ``template_{cls,loc}_conv`` turn ``[B, C, h, w]`` template features into
    ``[B, C*2A, h-2, w-2]`` / ``[B, C*4A, h-2, w-2]`` kernels (C = ``feature_in``);
    the search branch keeps C channels; :func:`xcorr_fast` correlates them and
    ``loc_adjust`` (1x1) refines the regression map.
    """

    def __init__(self, anchor_num: int = 5, feature_in: int = 256) -> None:
        super().__init__()
        cls_out, loc_out = 2 * anchor_num, 4 * anchor_num
        self.template_cls_conv = nn.Conv2d(feature_in, feature_in * cls_out, kernel_size=3)
        self.template_loc_conv = nn.Conv2d(feature_in, feature_in * loc_out, kernel_size=3)
        self.search_cls_conv = nn.Conv2d(feature_in, feature_in, kernel_size=3)
        self.search_loc_conv = nn.Conv2d(feature_in, feature_in, kernel_size=3)
        self.loc_adjust = nn.Conv2d(loc_out, loc_out, kernel_size=1)

    def prepare_template(self, z_f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.template_cls_conv(z_f), self.template_loc_conv(z_f)

    def match(self, template: Tuple[torch.Tensor, torch.Tensor], x_f: torch.Tensor) -> HeadOutput:
        cls_kernel, loc_kernel = template
        cls = xcorr_fast(self.search_cls_conv(x_f), cls_kernel)
        loc = self.loc_adjust(xcorr_fast(self.search_loc_conv(x_f), loc_kernel))
        return cls, loc


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DepthwiseXCorr(SiameseHead):
    """3x3 conv+BN+ReLU on each branch, depthwise correlation, then a 1x1 head.

    ``conv_kernel``/``conv_search`` map ``in_channels`` -> ``hidden``; ``head`` is
    1x1 conv (no bias) + BN + ReLU + 1x1 conv (with bias) to ``out_channels``.
    Template ``[B, Cin, 7, 7]`` and search ``[B, Cin, 31, 31]`` give
    ``[B, out_channels, 25, 25]``.
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv_kernel = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.conv_search = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.head = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel_size=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, kernel_size=1),
        )

    def prepare_template(self, z_f: torch.Tensor) -> torch.Tensor:
        return self.conv_kernel(z_f)

    def correlate(self, kernel: torch.Tensor, x_f: torch.Tensor) -> torch.Tensor:
        """Depthwise correlation feature ``[B, hidden, H, W]`` (before ``head``)."""
        return xcorr_depthwise(self.conv_search(x_f), kernel)

    def match(self, kernel: torch.Tensor, x_f: torch.Tensor) -> torch.Tensor:
        return self.head(self.correlate(kernel, x_f))


@HEADS.register("DepthwiseRPN")
class DepthwiseRPN(SiameseHead):
    """SiamRPN++ head: one :class:`DepthwiseXCorr` for ``cls`` (2A maps), one for ``loc`` (4A)."""

    def __init__(self, anchor_num: int = 5, in_channels: int = 256, out_channels: int = 256) -> None:
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, 2 * anchor_num)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4 * anchor_num)

    def prepare_template(self, z_f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.cls.prepare_template(z_f), self.loc.prepare_template(z_f)

    def match(self, template: Tuple[torch.Tensor, torch.Tensor], x_f: torch.Tensor) -> HeadOutput:
        cls_kernel, loc_kernel = template
        return self.cls.match(cls_kernel, x_f), self.loc.match(loc_kernel, x_f)


@HEADS.register("MultiRPN")
class MultiRPN(SiameseHead):
    """One :class:`DepthwiseRPN` per backbone level (``rpn2``, ``rpn3``, ...), fused.

    ``weighted=False``: plain mean of the levels. ``weighted=True``: learnt
    ``cls_weight``/``loc_weight`` (one scalar per level) turned into a convex
    combination by softmax. Inputs are lists of per-level features.
    """

    def __init__(self, anchor_num: int = 5, in_channels: Sequence[int] = (256, 256, 256),
                 weighted: bool = False) -> None:
        super().__init__()
        in_channels = list(in_channels)
        if not in_channels:
            raise ValueError("MultiRPN needs at least one level in in_channels")
        self.weighted = bool(weighted)
        self.num_levels = len(in_channels)
        for level, channels in enumerate(in_channels, start=2):
            self.add_module(f"rpn{level}", DepthwiseRPN(anchor_num, channels, channels))
        if self.weighted:
            self.cls_weight = nn.Parameter(torch.ones(self.num_levels))
            self.loc_weight = nn.Parameter(torch.ones(self.num_levels))

    def _levels(self) -> List[DepthwiseRPN]:
        return [getattr(self, f"rpn{level}") for level in range(2, 2 + self.num_levels)]

    def prepare_template(self, z_fs: Sequence[torch.Tensor]) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        if len(z_fs) != self.num_levels:
            raise ValueError(f"MultiRPN expects {self.num_levels} template levels, got {len(z_fs)}")
        return [rpn.prepare_template(z_f) for rpn, z_f in zip(self._levels(), z_fs)]

    def match(self, templates: Sequence[Tuple[torch.Tensor, torch.Tensor]], x_fs: Sequence[torch.Tensor]) -> HeadOutput:
        if len(x_fs) != self.num_levels:
            raise ValueError(f"MultiRPN expects {self.num_levels} search levels, got {len(x_fs)}")
        outputs = [rpn.match(t, x_f) for rpn, t, x_f in zip(self._levels(), templates, x_fs)]
        cls_levels = [c for c, _ in outputs]
        loc_levels = [l for _, l in outputs]
        if self.weighted:
            return (
                self._weighted_sum(cls_levels, F.softmax(self.cls_weight, dim=0)),
                self._weighted_sum(loc_levels, F.softmax(self.loc_weight, dim=0)),
            )
        return sum(cls_levels) / self.num_levels, sum(loc_levels) / self.num_levels

    @staticmethod
    def _weighted_sum(levels: List[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        total = levels[0] * weights[0]
        for level, weight in zip(levels[1:], weights[1:]):
            total = total + level * weight
        return total
