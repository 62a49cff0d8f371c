"""Training targets of the anchor-free (BAN) heads: one label and one box per score-map point.

Points sit ``stride`` search-crop pixels apart, the centre point on the crop
centre ``search_size // 2`` (``-1, 15, ..., 239`` for NanoTrack's 16 points at
stride 16 on a 255 crop: the tracker's grid ``-128 .. 112`` around the centre).
Target boxes are corner boxes ``[x1, y1, x2, y2]`` in crop pixels.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from pysot.datasets.anchor_target import _keep_at_most


class PointTarget:
    """Label points for one search crop (NanoTrack's rules).

    Positive: inside the ellipse of semi-axes ``w / 4``, ``h / 4`` around the
    target centre (at most ``pos_num`` kept at random). Negative: outside the
    ellipse of semi-axes ``w / 2``, ``h / 2`` (at most ``total_num - pos_num``
    kept); the ring between is ignored (-1). For a negative pair only points inside
    the inner ellipse become negatives (at most ``neg_num``): the head learns to
    reject a look-alike where it stands.

    Returns (``__call__``): ``cls [S, S]`` int64 in {1, 0, -1}; ``delta [4, S, S]``
    float32, each point's distances to the target's left, top, right and bottom
    sides (what the head's ``loc`` predicts); ``points [2, S, S]`` their ``x, y``.
    """

    def __init__(self, stride: int = 16, search_size: int = 255, output_size: int = 16, pos_num: int = 16,
                 neg_num: int = 16, total_num: int = 64) -> None:
        self.stride, self.search_size, self.output_size = int(stride), int(search_size), int(output_size)
        self.pos_num, self.neg_num, self.total_num = int(pos_num), int(neg_num), int(total_num)
        offsets = (np.arange(self.output_size) - self.output_size // 2) * self.stride + self.search_size // 2
        x, y = np.meshgrid(offsets, offsets)
        self.points = np.stack([x, y]).astype(np.float32)

    def _ellipse(self, target: Sequence[float], fraction: float) -> np.ndarray:
        """``(dx / (w * fraction))^2 + (dy / (h * fraction))^2`` for every point."""
        x1, y1, x2, y2 = (float(v) for v in target)
        cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.square(cx - self.points[0]) / np.square(w * fraction)
                    + np.square(cy - self.points[1]) / np.square(h * fraction))

    def __call__(self, target: Sequence[float], negative: bool, rng: np.random.Generator) -> Dict[str, np.ndarray]:
        size = self.output_size
        cls = -np.ones((size, size), dtype=np.int64)
        delta = np.zeros((4, size, size), dtype=np.float32)
        inner = self._ellipse(target, 0.25) < 1
        if negative:
            cls[_keep_at_most(rng, inner, self.neg_num)] = 0
            return {"cls": cls, "delta": delta, "points": self.points}
        x1, y1, x2, y2 = (float(v) for v in target)
        delta[0] = self.points[0] - x1
        delta[1] = self.points[1] - y1
        delta[2] = x2 - self.points[0]
        delta[3] = y2 - self.points[1]
        positive = _keep_at_most(rng, inner, self.pos_num)
        outer = _keep_at_most(rng, self._ellipse(target, 0.5) > 1, self.total_num - self.pos_num)
        cls[positive] = 1
        cls[outer] = 0
        return {"cls": cls, "delta": delta, "points": self.points}
