"""Anchor boxes of the RPN heads.

The base anchors are ``len(ratios) * len(scales)`` boxes of area
``(stride * scale)^2``, ordered ratio-major (``for r in ratios: for s in scales``),
which is the channel order of the checkpoints' ``cls``/``loc`` outputs.
Widths and heights are truncated to integers as the original implementation did,
so pretrained heads decode to the same boxes.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import numpy as np

from pysot.utils.bbox import center2corner


def base_anchors(stride: int, ratios: Sequence[float], scales: Sequence[float]) -> np.ndarray:
    """``[A, 4]`` float32 corner boxes centred on 0, A = len(ratios) * len(scales)."""
    out = []
    area = float(stride * stride)
    for r in ratios:
        ws = int(math.sqrt(area / r))
        hs = int(ws * r)
        for s in scales:
            w, h = ws * s, hs * s
            out.append([-w * 0.5, -h * 0.5, w * 0.5, h * 0.5])
    return np.asarray(out, dtype=np.float32).reshape(-1, 4)


def anchor_grid(stride: int, ratios: Sequence[float], scales: Sequence[float],
                image_center: float, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Anchors on a ``size x size`` score map whose centre cell sits on ``image_center``.

    Returns ``(corner, center)``, each ``[4, A, size, size]`` float32: the training
    target layout (``corner[0]`` is x1 of every anchor, and so on).
    """
    base = base_anchors(stride, ratios, scales)
    n = base.shape[0]
    origin = image_center - (size // 2) * stride
    cx = ((base[:, 0] + base[:, 2]) * 0.5 + origin).reshape(n, 1, 1)
    cy = ((base[:, 1] + base[:, 3]) * 0.5 + origin).reshape(n, 1, 1)
    w = (base[:, 2] - base[:, 0]).reshape(n, 1, 1)
    h = (base[:, 3] - base[:, 1]).reshape(n, 1, 1)
    steps = np.arange(size, dtype=np.float32) * stride
    zeros = np.zeros((n, size, size), dtype=np.float32)
    cx = cx + steps.reshape(1, 1, -1) + zeros
    cy = cy + steps.reshape(1, -1, 1) + zeros
    w = w + zeros
    h = h + zeros
    center = np.stack([cx, cy, w, h]).astype(np.float32)
    corner = np.stack(center2corner((cx, cy, w, h))).astype(np.float32)
    return corner, center


class Anchors:
    """Base anchors plus a cached grid for one (image centre, map size)."""

    def __init__(self, stride: int, ratios: Sequence[float], scales: Sequence[float]) -> None:
        self.stride = int(stride)
        self.ratios = list(ratios)
        self.scales = list(scales)
        self.anchors = base_anchors(self.stride, self.ratios, self.scales)
        self._key = None
        self.all_anchors = None

    @property
    def anchor_num(self) -> int:
        return self.anchors.shape[0]

    def generate_all_anchors(self, image_center: float, size: int) -> bool:
        """Fill ``self.all_anchors = (corner, center)``; returns False if cached."""
        key = (image_center, size)
        if key == self._key:
            return False
        self._key = key
        self.all_anchors = anchor_grid(self.stride, self.ratios, self.scales, image_center, size)
        return True
