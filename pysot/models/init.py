"""Weight initialisation shared by model components."""
from __future__ import annotations

import math
from typing import Iterable, Optional

import torch.nn as nn


def init_like_release(modules: Iterable[nn.Module], linear_std: Optional[float] = None) -> None:
    """He-normal convolutions (fan-out: ``std = sqrt(2 / (k_h * k_w * out_channels))``), zero conv
    biases, unit BN: the NanoTrack release's initialisation. ``linear_std``: also draw ``nn.Linear``
    weights from ``N(0, linear_std)`` (MobileNetV3's squeeze-excitation layers)."""
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / n))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear) and linear_std is not None:
                nn.init.normal_(m.weight, 0, linear_std)
