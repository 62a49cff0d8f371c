"""NanoTrack's anchor-free BAN heads (V1, V2, V3): pixel-wise correlation, towers, point outputs.

Each head matches template features ``z_f`` ``[B, C, 8, 8]`` with search
features ``x_f`` ``[B, C, 16, 16]`` (MobileNetV3-small at stride 16) and returns

* ``cls`` ``[B, 2, S, S]``: background / foreground logits of every point;
* ``loc`` ``[B, 4, S, S]``: the point's distances to the box's left, top,
  right and bottom sides in search-crop pixels (``exp`` of the regression, so
  always positive).

``S`` is 16 for V1/V2 and 15 for V3. Module names follow the NanoTrack
release, so its snapshots load with their own keys (``ban_head.*``).
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from pysot.core.registry import HEADS
from pysot.core.xcorr import xcorr_depthwise, xcorr_pixelwise
from pysot.models.head.base import HeadOutput, SiameseHead
from pysot.models.init import init_like_release


class ChannelAttention(nn.Module):
    """Squeeze-excite gate ``x * sigmoid(fc2(relu(fc1(mean(x)))))`` over the correlation maps."""

    def __init__(self, channels: int = 64, reduction: int = 1) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))


def _pointwise_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1), nn.BatchNorm2d(out_channels))


class PixelwiseCorrelation(nn.Module):
    """Pixel-wise correlation of (optionally 1x1-adapted) features, gated by channel attention.

    ``adapt``: 1x1 conv + BN on template (``conv_kernel``) and search
    (``conv_search``) first (V2, V3); ``fuse``: a 2x2 depthwise + 1x1 block
    after the gate (V3), which shrinks the maps by one cell.
    ``template_cells``: ``hk * wk`` (64 for an 8x8 template), the output channels.
    """

    def __init__(self, in_channels: int, template_cells: int = 64, adapt: bool = True, fuse: bool = False) -> None:
        super().__init__()
        self.adapt = adapt
        if adapt:
            self.conv_kernel = _pointwise_bn(in_channels, in_channels)
            self.conv_search = _pointwise_bn(in_channels, in_channels)
        self.CA_layer = ChannelAttention(template_cells)
        if fuse:
            self.conv = nn.Sequential(
                nn.Conv2d(template_cells, template_cells, kernel_size=2, groups=template_cells, bias=False),
                nn.BatchNorm2d(template_cells), nn.ReLU6(inplace=True),
                nn.Conv2d(template_cells, template_cells, kernel_size=1), nn.BatchNorm2d(template_cells))
        self.fuse = fuse

    def prepare_template(self, z_f: torch.Tensor) -> torch.Tensor:
        return self.conv_kernel(z_f) if self.adapt else z_f

    def match(self, kernel: torch.Tensor, x_f: torch.Tensor) -> torch.Tensor:
        if self.adapt:
            x_f = self.conv_search(x_f)
        corr = self.CA_layer(xcorr_pixelwise(x_f, kernel))
        return self.conv(corr) if self.fuse else corr


class PaddedDepthwiseCorrelation(nn.Module):
    """NanoTrack V3's depthwise branch: 1x1 adapters, then depthwise correlation with one cell of
    zero padding around the search (so a 4x4 template core on 16x16 gives 15x15, like the pixel-wise branch)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_kernel = _pointwise_bn(in_channels, out_channels)
        self.conv_search = _pointwise_bn(in_channels, out_channels)

    def prepare_template(self, z_f: torch.Tensor) -> torch.Tensor:
        return self.conv_kernel(z_f)

    def match(self, kernel: torch.Tensor, x_f: torch.Tensor) -> torch.Tensor:
        return xcorr_depthwise(F.pad(self.conv_search(x_f), (1, 1, 1, 1)), kernel)


def separable_tower(in_channels: int, spec: Sequence[Tuple[int, int]], bn_between: bool = False) -> nn.Sequential:
    """Depthwise-separable blocks; ``spec`` lists ``(kernel, out_channels)`` per block.

    V1/V2 blocks: depthwise conv, 1x1 conv, BN, ReLU6. V3 blocks (``bn_between``):
    depthwise conv, BN, ReLU6, 1x1 conv, BN (no activation after the block).
    """
    layers: List[nn.Module] = []
    channels = in_channels
    for kernel, out in spec:
        depthwise = nn.Conv2d(channels, channels, kernel, 1, kernel // 2, groups=channels, bias=False)
        pointwise = nn.Conv2d(channels, out, 1, 1, 0, bias=False)
        if bn_between:
            layers += [depthwise, nn.BatchNorm2d(channels), nn.ReLU6(inplace=True), pointwise, nn.BatchNorm2d(out)]
        else:
            layers += [depthwise, pointwise, nn.BatchNorm2d(out), nn.ReLU6(inplace=True)]
        channels = out
    return nn.Sequential(*layers)



@HEADS.register("NanoBANv1")
class NanoBANv1(SiameseHead):
    """NanoTrack V1: one shared pixel-wise correlation (no adapters) feeds both towers.

    ``in_channels``: backbone channels (48); ``template_cells``: 64 for an 8x8 template.
    ``[B, 48, 8, 8]`` x ``[B, 48, 16, 16]`` -> ``cls [B, 2, 16, 16]``, ``loc [B, 4, 16, 16]``.
    """

    def __init__(self, in_channels: int = 48, template_cells: int = 64) -> None:
        super().__init__()
        self.corr_pw = PixelwiseCorrelation(in_channels, template_cells, adapt=False)
        self.cls_tower = separable_tower(template_cells, [(5, 128), (5, 128), (3, 128)])
        self.bbox_tower = separable_tower(template_cells, [(3, 96), (3, 96), (5, 96), (5, 96)])
        self.cls_logits = nn.Sequential(nn.Conv2d(128, 2, kernel_size=1))
        self.bbox_pred = nn.Sequential(nn.Conv2d(96, 4, kernel_size=1))
        init_like_release([self.cls_tower, self.bbox_tower, self.cls_logits, self.bbox_pred])

    def prepare_template(self, z_f: torch.Tensor) -> torch.Tensor:
        return self.corr_pw.prepare_template(z_f)

    def match(self, template: torch.Tensor, x_f: torch.Tensor) -> HeadOutput:
        corr = self.corr_pw.match(template, x_f)
        cls = self.cls_logits(self.cls_tower(corr))
        loc = torch.exp(self.bbox_pred(self.bbox_tower(corr)))
        return cls, loc


@HEADS.register("NanoBANv2")
class NanoBANv2(SiameseHead):
    """NanoTrack V2: separate adapted pixel-wise correlations for classification and regression,
    two towers of six 3x3 separable blocks (``tower_channels`` wide).

    ``[B, 48, 8, 8]`` x ``[B, 48, 16, 16]`` -> ``cls [B, 2, 16, 16]``, ``loc [B, 4, 16, 16]``.
    """

    def __init__(self, in_channels: int = 48, template_cells: int = 64, tower_channels: int = 96,
                 tower_blocks: int = 6) -> None:
        super().__init__()
        self.corr_pw_reg = PixelwiseCorrelation(in_channels, template_cells)
        self.corr_pw_cls = PixelwiseCorrelation(in_channels, template_cells)
        spec = [(3, tower_channels)] * tower_blocks
        self.cls_pw_tower = separable_tower(template_cells, spec)
        self.bbox_pw_tower = separable_tower(template_cells, spec)
        self.cls_pred = nn.Sequential(nn.Conv2d(tower_channels, 2, kernel_size=1))
        self.bbox_pred = nn.Sequential(nn.Conv2d(tower_channels, 4, kernel_size=1))
        init_like_release([self.cls_pw_tower, self.bbox_pw_tower, self.cls_pred, self.bbox_pred,
                            self.corr_pw_cls, self.corr_pw_reg])

    def prepare_template(self, z_f: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"cls": self.corr_pw_cls.prepare_template(z_f), "reg": self.corr_pw_reg.prepare_template(z_f)}

    def match(self, template: Dict[str, torch.Tensor], x_f: torch.Tensor) -> HeadOutput:
        cls = self.cls_pred(self.cls_pw_tower(self.corr_pw_cls.match(template["cls"], x_f)))
        loc = torch.exp(self.bbox_pred(self.bbox_pw_tower(self.corr_pw_reg.match(template["reg"], x_f))))
        return cls, loc


@HEADS.register("NanoBANv3")
class NanoBANv3(SiameseHead):
    """NanoTrack V3: per branch, a pixel-wise correlation (full 8x8 template, 2x2 fuse block) and a
    depthwise one (the template's central 4x4, padded search), concatenated and reduced by a 1x1
    conv, then six separable blocks.

    ``[B, 96, 8, 8]`` x ``[B, 96, 16, 16]`` -> ``cls [B, 2, 15, 15]``, ``loc [B, 4, 15, 15]``.
    """

    def __init__(self, in_channels: int = 96, template_cells: int = 64, tower_blocks: int = 6,
                 core_size: int = 4) -> None:
        super().__init__()
        c = in_channels
        self.core_size = core_size
        self.corr_dw_reg = PaddedDepthwiseCorrelation(c, c)
        self.corr_pw_reg = PixelwiseCorrelation(c, template_cells, fuse=True)
        self.corr_dw_cls = PaddedDepthwiseCorrelation(c, c)
        self.corr_pw_cls = PixelwiseCorrelation(c, template_cells, fuse=True)
        spec = [(3, c)] * tower_blocks
        self.cls_tower = separable_tower(c, spec, bn_between=True)
        self.bbox_tower = separable_tower(c, spec, bn_between=True)
        self.cls_logits = nn.Sequential(nn.Conv2d(c, 2, kernel_size=1))
        self.bbox_pred = nn.Sequential(nn.Conv2d(c, 4, kernel_size=1))
        self.down_reg = nn.Sequential(nn.Conv2d(c + template_cells, c, kernel_size=1))
        self.down_cls = nn.Sequential(nn.Conv2d(c + template_cells, c, kernel_size=1))
        init_like_release([self.cls_tower, self.bbox_tower, self.cls_logits, self.bbox_pred,
                            self.down_cls, self.down_reg])

    def _core(self, z_f: torch.Tensor) -> torch.Tensor:
        """The central ``core_size`` cells of the template (``[2:6]`` of 8, as the release crops them)."""
        if z_f.size(3) <= self.core_size:
            return z_f
        left = (z_f.size(3) - self.core_size) // 2
        return z_f[:, :, left:left + self.core_size, left:left + self.core_size]

    def prepare_template(self, z_f: torch.Tensor) -> Dict[str, torch.Tensor]:
        core = self._core(z_f)
        return {"pw_cls": self.corr_pw_cls.prepare_template(z_f), "pw_reg": self.corr_pw_reg.prepare_template(z_f),
                "dw_cls": self.corr_dw_cls.prepare_template(core), "dw_reg": self.corr_dw_reg.prepare_template(core)}

    def match(self, template: Dict[str, torch.Tensor], x_f: torch.Tensor) -> HeadOutput:
        reg = torch.cat((self.corr_pw_reg.match(template["pw_reg"], x_f),
                         self.corr_dw_reg.match(template["dw_reg"], x_f)), 1)
        cls = torch.cat((self.corr_pw_cls.match(template["pw_cls"], x_f),
                         self.corr_dw_cls.match(template["dw_cls"], x_f)), 1)
        logits = self.cls_logits(self.cls_tower(self.down_cls(cls)))
        loc = torch.exp(self.bbox_pred(self.bbox_tower(self.down_reg(reg))))
        return logits, loc
