"""SiamFC head: plain cross-correlation of exemplar and instance features."""
from __future__ import annotations

import torch

from pysot.core.registry import HEADS
from pysot.core.xcorr import xcorr_fast
from pysot.models.head.base import HeadOutput, SiameseHead


@HEADS.register("SiamFCHead")
class SiamFCHead(SiameseHead):
    """Score map ``[B, 1, Hx-hz+1, Wx-wz+1]`` = (x_f ⋆ z_f) * ``out_scale``; no ``loc``.

    The fixed ``out_scale`` (0.001 in SiamFC) brings the summed products of
    256-channel features to the range the logistic loss was tuned for.
    Template ``[B, 256, 6, 6]`` and search ``[B, 256, 22, 22]`` give ``[B, 1, 17, 17]``.
    """

    def __init__(self, out_scale: float = 0.001) -> None:
        super().__init__()
        self.out_scale = float(out_scale)

    def prepare_template(self, z_f: torch.Tensor) -> torch.Tensor:
        return z_f

    def match(self, z_f: torch.Tensor, x_f: torch.Tensor) -> HeadOutput:
        if z_f.size(1) != x_f.size(1):
            raise ValueError(f"SiamFCHead: template has {z_f.size(1)} channels, search {x_f.size(1)}")
        return xcorr_fast(x_f, z_f) * self.out_scale, None
