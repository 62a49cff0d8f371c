"""Training targets on the score map: anchor assignment (RPN) and SiamFC's label map.

The search crop is ``search_size`` pixels; the score map is ``output_size`` cells
whose centre cell sits on the crop centre ``search_size // 2``, cells ``stride``
pixels apart. Target boxes are corner boxes ``[x1, y1, x2, y2]`` in crop pixels.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from pysot.utils.anchor import anchor_grid


def _keep_at_most(rng, mask: np.ndarray, keep: int) -> np.ndarray:
    """Keep ``keep`` of the True entries of ``mask`` at random (a copy), the original's ``select``:
    shuffle ``arange(count)`` of the entries (in C order) and keep the first ``keep``.

    ``rng`` is ``numpy.random`` (the global legacy stream, as the original), a ``RandomState`` or a
    ``Generator``: with the first two the kept entries are the original's for the same state.
    """
    idx = np.flatnonzero(mask)
    out = mask.copy()
    keep = max(int(keep), 0)
    if idx.size > keep:
        order = np.arange(idx.size)
        rng.shuffle(order)
        out.flat[idx[order[keep:]]] = False
    return out


class AnchorTarget:
    """Label anchors for one search crop (the RPN heads' training targets), as the original PySOT.

    Rules: IoU > ``thr_high`` is positive (at most ``pos_num`` kept at random);
    IoU < ``thr_low`` is negative (at most ``total_num - pos_num`` kept, however many positives
    there are); the rest is ignored (-1). For a negative pair only the anchors of the 7 x 7 cells
    around the distractor become negatives (at most ``neg_num``): the head learns to reject a
    look-alike where it stands. The block's centre cell is ``size // 2 + ceil(d / stride + 0.5)``
    for an offset ``d`` of the distractor from the crop centre (the original's rounding).

    Returns (``__call__``): ``cls [A, H, W]`` int64 in {1, 0, -1}; ``delta
    [4, A, H, W]`` float32 regression targets ``((tx - ax) / aw, (ty - ay) / ah,
    log(tw / aw), log(th / ah))``; ``delta_weight [A, H, W]`` float32, ``1 / #pos``
    on positives; ``overlap [A, H, W]`` float64 IoU with the target.
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

    def __call__(self, target: Sequence[float], negative: bool, rng) -> Dict[str, np.ndarray]:
        """``rng``: ``numpy.random`` (the original's global stream), a ``RandomState`` or a ``Generator``."""
        shape = self.corner.shape[1:]
        cls = -np.ones(shape, dtype=np.int64)
        delta = np.zeros((4,) + shape, dtype=np.float32)
        delta_weight = np.zeros(shape, dtype=np.float32)
        t = np.asarray(target, dtype=np.float64)
        tcx, tcy = (t[0] + t[2]) / 2, (t[1] + t[3]) / 2
        tw, th = t[2] - t[0], t[3] - t[1]

        if negative:
            size, r = self.output_size, self.neg_radius
            cx = size // 2 + int(np.ceil((tcx - self.search_size // 2) / self.stride + 0.5))
            cy = size // 2 + int(np.ceil((tcy - self.search_size // 2) / self.stride + 0.5))
            near = np.zeros(shape, dtype=bool)
            near[:, max(0, cy - r):min(size, cy + r + 1), max(0, cx - r):min(size, cx + r + 1)] = True
            cls[_keep_at_most(rng, near, self.neg_num)] = 0
            overlap = np.zeros(shape, dtype=np.float32)
            return {"cls": cls, "delta": delta, "delta_weight": delta_weight, "overlap": overlap}

        acx, acy, aw, ah = self.center
        with np.errstate(divide="ignore"):  # a degenerate box: log(0) is -inf, as in the original
            delta[0] = (tcx - acx) / aw
            delta[1] = (tcy - acy) / ah
            delta[2] = np.log(tw / aw)
            delta[3] = np.log(th / ah)
        overlap = _iou(self.corner, t)
        pos = _keep_at_most(rng, overlap > self.thr_high, self.pos_num)
        neg = _keep_at_most(rng, overlap < self.thr_low, self.total_num - self.pos_num)
        num_pos = int(pos.sum())
        cls[pos] = 1
        delta_weight[pos] = 1.0 / (num_pos + 1e-6)
        cls[neg] = 0
        return {"cls": cls, "delta": delta, "delta_weight": delta_weight, "overlap": overlap}


def _iou(corner: np.ndarray, t: np.ndarray) -> np.ndarray:
    """IoU ``[A, H, W]`` (float64) of the anchors ``corner [4, A, H, W]`` with one corner box, the
    original's arithmetic (continuous areas, no +1)."""
    x1, y1, x2, y2 = corner
    xx1, yy1 = np.maximum(t[0], x1), np.maximum(t[1], y1)
    xx2, yy2 = np.minimum(t[2], x2), np.minimum(t[3], y2)
    inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
    area = (x2 - x1) * (y2 - y1)
    target_area = (t[2] - t[0]) * (t[3] - t[1])
    return (inter / (area + target_area - inter)).astype(np.float64)


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
