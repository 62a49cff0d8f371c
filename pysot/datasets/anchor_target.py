"""Training targets on the score map: anchor assignment (RPN) and SiamFC's label map.

The search crop is ``search_size`` pixels; the score map is ``output_size`` cells
whose centre cell sits on the crop centre ``search_size // 2``, cells ``stride``
pixels apart. Target boxes are corner boxes ``[x1, y1, x2, y2]`` in crop pixels.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from pysot.utils.anchor import anchor_grid
from pysot.utils.bbox import iou


def _keep_at_most(rng: np.random.Generator, mask: np.ndarray, keep: int) -> np.ndarray:
    """Randomly switch off all but ``keep`` of the True entries of ``mask`` (a copy)."""
    idx = np.flatnonzero(mask)
    out = mask.copy()
    if idx.size > keep:
        drop = rng.choice(idx, size=idx.size - max(keep, 0), replace=False)
        out.flat[drop] = False
    return out


class AnchorTarget:
    """Label anchors for one search crop (the RPN heads' training targets).

    Rules: IoU > ``thr_high`` is positive (at most ``pos_num`` kept at random);
    IoU < ``thr_low`` is negative (at most ``total_num - #pos`` kept); the rest
    is ignored (-1). For a negative pair only anchors of the cells near the
    distractor's centre become negatives (at most ``neg_num``), which teaches the
    head to reject a look-alike where it stands.

    Returns (``__call__``): ``cls [A, H, W]`` int64 in {1, 0, -1}; ``delta
    [4, A, H, W]`` float32 regression targets ``((tx - ax) / aw, (ty - ay) / ah,
    log(tw / aw), log(th / ah))``; ``delta_weight [A, H, W]`` float32, ``1 / #pos``
    on positives; ``overlap [A, H, W]`` IoU with the target.
    """

    def __init__(self, stride: int = 8, ratios: Sequence[float] = (0.33, 0.5, 1, 2, 3),
                 scales: Sequence[float] = (8,), search_size: int = 255, output_size: int = 25,
                 thr_high: float = 0.6, thr_low: float = 0.3, pos_num: int = 16, neg_num: int = 16,
                 total_num: int = 64, neg_radius: int = 3) -> None:
        self.stride = int(stride)
        self.search_size = int(search_size)
        self.output_size = int(output_size)
        self.thr_high, self.thr_low = float(thr_high), float(thr_low)
        self.pos_num, self.neg_num, self.total_num = int(pos_num), int(neg_num), int(total_num)
        self.neg_radius = int(neg_radius)
        self.corner, self.center = anchor_grid(self.stride, ratios, scales, self.search_size // 2, self.output_size)
        self.anchor_num = self.corner.shape[1]
        self._corner_last = np.ascontiguousarray(np.moveaxis(self.corner, 0, -1))  # [A, H, W, 4], once

    def __call__(self, target: Sequence[float], negative: bool, rng: np.random.Generator) -> Dict[str, np.ndarray]:
        shape = self.corner.shape[1:]
        cls = -np.ones(shape, dtype=np.int64)
        delta = np.zeros((4,) + shape, dtype=np.float32)
        delta_weight = np.zeros(shape, dtype=np.float32)
        t = np.asarray(target, dtype=np.float64)
        tcx, tcy = (t[0] + t[2]) / 2, (t[1] + t[3]) / 2
        tw, th = max(t[2] - t[0], 1e-3), max(t[3] - t[1], 1e-3)

        if negative:
            size = self.output_size
            col = size // 2 + int(np.ceil((tcx - self.search_size // 2) / self.stride - 0.5))
            row = size // 2 + int(np.ceil((tcy - self.search_size // 2) / self.stride - 0.5))
            r = self.neg_radius
            near = np.zeros(shape, dtype=bool)
            near[:, max(0, row - r):max(0, row + r + 1), max(0, col - r):max(0, col + r + 1)] = True
            cls[_keep_at_most(rng, near, self.neg_num)] = 0
            overlap = np.zeros(shape, dtype=np.float32)
            return {"cls": cls, "delta": delta, "delta_weight": delta_weight, "overlap": overlap}

        acx, acy, aw, ah = self.center
        delta[0] = (tcx - acx) / aw
        delta[1] = (tcy - acy) / ah
        delta[2] = np.log(tw / aw)
        delta[3] = np.log(th / ah)
        overlap = iou(self._corner_last, t).astype(np.float32)
        pos = _keep_at_most(rng, overlap > self.thr_high, self.pos_num)
        num_pos = int(pos.sum())
        neg = _keep_at_most(rng, overlap < self.thr_low, self.total_num - num_pos)
        cls[pos] = 1
        cls[neg] = 0
        delta_weight[pos] = 1.0 / (num_pos + 1e-6)
        return {"cls": cls, "delta": delta, "delta_weight": delta_weight, "overlap": overlap}


class SiamFCLabel:
    """SiamFC's balanced logistic label map ``[1, H, W]``.

    Cells within ``radius`` pixels (search-crop scale) of the target centre are
    positive (1), the others negative (0); ``weight`` gives each class half of the
    total weight. A negative pair has no positive cell.
    """

    def __init__(self, output_size: int = 17, stride: int = 8, radius: float = 16.0,
                 search_size: int = 255) -> None:
        self.output_size, self.stride, self.radius = int(output_size), int(stride), float(radius)
        self.search_size = int(search_size)

    def __call__(self, target: Sequence[float], negative: bool, rng: np.random.Generator = None) -> Dict[str, np.ndarray]:
        t = np.asarray(target, dtype=np.float64)
        tcx, tcy = (t[0] + t[2]) / 2, (t[1] + t[3]) / 2
        offsets = (np.arange(self.output_size) - self.output_size // 2) * self.stride + self.search_size // 2
        dist = np.sqrt((offsets[None, :] - tcx) ** 2 + (offsets[:, None] - tcy) ** 2)
        label = (dist <= self.radius).astype(np.float32)
        if negative:
            label[:] = 0
        weight = np.empty_like(label)
        num_pos, num_neg = label.sum(), label.size - label.sum()
        weight[label == 1] = 0.5 / max(num_pos, 1)
        weight[label == 0] = 0.5 / max(num_neg, 1) if num_pos > 0 else 1.0 / max(num_neg, 1)
        return {"label": label[None], "weight": weight[None]}
