"""MobileNetV3's squeeze-excite gate for the fast path: one function body instead of six modules.

:class:`~pysot.models.backbone.mobile_v3.SqueezeExcite` is pooling, ``Linear``,
``ReLU``, ``Linear``, ``Hardsigmoid`` and a product: on a 16x16 map the module
calls cost more than the arithmetic. The fast copy runs the same operations,
in the same order, with the two ``Linear`` layers as ``addmm`` calls and the
activations in place.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from pysot.models.fast.fold import _replace_modules


class FastSqueezeExcite(nn.Module):
    """``x * hardsigmoid(fc2(relu(fc1(mean(x)))))`` for ``x [B, C, H, W]``, from a folded
    :class:`~pysot.models.backbone.mobile_v3.SqueezeExcite` (its ``fc`` Sequential)."""

    def __init__(self, fc1: nn.Linear, fc2: nn.Linear) -> None:
        super().__init__()
        self.w1 = nn.Parameter(fc1.weight.detach().t().contiguous(), requires_grad=False)  # [C, hidden]
        self.b1 = nn.Parameter(fc1.bias.detach().clone(), requires_grad=False)
        self.w2 = nn.Parameter(fc2.weight.detach().t().contiguous(), requires_grad=False)  # [hidden, C]
        self.b2 = nn.Parameter(fc2.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        hidden = torch.relu_(torch.addmm(self.b1, F.adaptive_avg_pool2d(x, 1).view(b, c), self.w1))
        gate = F.hardsigmoid(torch.addmm(self.b2, hidden, self.w2), inplace=True)
        return x * gate.view(b, c, 1, 1)


def fast_squeeze_excite(model: nn.Module) -> int:
    """Swap every MobileNetV3 squeeze-excite gate of ``model`` for :class:`FastSqueezeExcite`, in place.

    Returns how many were swapped; a gate whose layers are not the expected
    ``Linear, ReLU, Linear, Hardsigmoid`` (with biases) is left as it is.
    """
    from pysot.models.backbone.mobile_v3 import SqueezeExcite

    swapped = {}
    for module in model.modules():
        if type(module) is not SqueezeExcite:
            continue
        layers = list(module.fc.children())
        kinds = [type(m) for m in layers]
        if kinds != [nn.Linear, nn.ReLU, nn.Linear, nn.Hardsigmoid] or layers[0].bias is None or layers[2].bias is None:
            continue
        swapped[id(module)] = FastSqueezeExcite(layers[0], layers[2])
    _replace_modules(model, swapped)
    return len(swapped)
