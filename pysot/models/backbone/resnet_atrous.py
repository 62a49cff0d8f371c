"""ResNet-18/34/50 in the atrous (dilated) layout of SiamRPN++ / SiamMask.

Differences from torchvision's ResNet, all needed to load PySOT checkpoints
and to keep the features aligned with the search-region grid:

* ``conv1`` has no padding, and convolutions that change stride keep padding
  0 (``padding = 2 - stride``): a 127 template gives 15x15 features, a 255
  search 31x31, both at total stride 8.
* ``layer3`` / ``layer4`` keep stride 1 and dilate instead (2 and 4). Their
  first block, which changes the channel count, uses half the dilation.
* Shortcut projections that change stride or dilation are 3x3 convolutions.
* ``layer3`` / ``layer4`` exist only when listed in ``used_layers``.

``forward`` returns the outputs selected by ``used_layers`` (0: the stem
after ReLU, before max-pool; 1..4: layer1..layer4), a single tensor when one
layer is used. Input: raw 0..255 BGR ``[B, 3, H, W]``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Type, Union

import torch
import torch.nn as nn

from pysot.core.registry import BACKBONES


def _conv3x3(in_planes: int, out_planes: int, stride: int, dilation: int, padding: int) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=padding, dilation=dilation,
                     bias=False)


def _block_padding(stride: int, dilation: int) -> int:
    # Stride-2 convolutions are unpadded so that feature cells stay centred on the crop.
    return dilation if dilation > 1 else 2 - stride


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, dilation: int = 1) -> None:
        super().__init__()
        padding = _block_padding(stride, dilation)
        first_dilation, first_padding = dilation, padding
        if downsample is not None and dilation > 1:
            first_dilation = first_padding = dilation // 2
        self.conv1 = _conv3x3(inplanes, planes, stride, first_dilation, first_padding)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes, 1, dilation, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided / dilated) -> 1x1 with 4x expansion (ResNet-50)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, dilation: int = 1) -> None:
        super().__init__()
        if stride != 1 and dilation != 1:
            raise ValueError("a ResNet block is either strided or dilated, not both")
        if downsample is not None and dilation > 1:
            dilation = dilation // 2
        padding = _block_padding(stride, dilation)
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride, dilation, padding)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


Block = Type[Union[BasicBlock, Bottleneck]]


class ResNet(nn.Module):
    """Atrous ResNet; see the module docstring. ``feature_channels[i]`` is the width of level ``used_layers[i]``."""

    def __init__(self, block: Block, layers: Sequence[int], used_layers: Sequence[int] = (2, 3, 4)) -> None:
        super().__init__()
        used_layers = [int(i) for i in used_layers]
        if not used_layers or any(i not in range(5) for i in used_layers):
            raise ValueError(f"used_layers must be a non-empty list of 0..4, got {used_layers}")
        self.used_layers = used_layers
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], dilation=2) if max(used_layers) >= 3 else None
        self.layer4 = self._make_layer(block, 512, layers[3], dilation=4) if max(used_layers) >= 4 else None
        widths = [64, 64 * block.expansion, 128 * block.expansion, 256 * block.expansion, 512 * block.expansion]
        self.feature_channels = [widths[i] for i in used_layers]

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        downsample = None
        out_planes = planes * block.expansion
        if stride != 1 or self.inplanes != out_planes:
            if stride == 1 and dilation == 1:
                projection = nn.Conv2d(self.inplanes, out_planes, kernel_size=1, bias=False)
            else:
                # 3x3 projection, matching the block's first (strided or half-dilated) 3x3 conv.
                shortcut_dilation = max(1, dilation // 2)
                projection = _conv3x3(self.inplanes, out_planes, stride, shortcut_dilation,
                                      _block_padding(stride, shortcut_dilation))
            downsample = nn.Sequential(projection, nn.BatchNorm2d(out_planes))
        modules = [block(self.inplanes, planes, stride, downsample, dilation=dilation)]
        self.inplanes = out_planes
        modules += [block(self.inplanes, planes, dilation=dilation) for _ in range(1, blocks)]
        return nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, List[torch.Tensor]]:
        stem = self.relu(self.bn1(self.conv1(x)))
        outputs = [stem]
        x = self.layer1(self.maxpool(stem))
        outputs.append(x)
        x = self.layer2(x)
        outputs.append(x)
        for layer in (self.layer3, self.layer4):
            if layer is None:
                break
            x = layer(x)
            outputs.append(x)
        selected = [outputs[i] for i in self.used_layers]
        return selected[0] if len(selected) == 1 else selected


@BACKBONES.register("resnet18")
def resnet18(used_layers: Sequence[int] = (2, 3, 4)) -> ResNet:
    """Atrous ResNet-18 (BasicBlock, [2, 2, 2, 2])."""
    return ResNet(BasicBlock, [2, 2, 2, 2], used_layers)


@BACKBONES.register("resnet34")
def resnet34(used_layers: Sequence[int] = (2, 3, 4)) -> ResNet:
    """Atrous ResNet-34 (BasicBlock, [3, 4, 6, 3])."""
    return ResNet(BasicBlock, [3, 4, 6, 3], used_layers)


@BACKBONES.register("resnet50")
def resnet50(used_layers: Sequence[int] = (2, 3, 4)) -> ResNet:
    """Atrous ResNet-50 (Bottleneck, [3, 4, 6, 3]) of SiamRPN++ / SiamMask."""
    return ResNet(Bottleneck, [3, 4, 6, 3], used_layers)
