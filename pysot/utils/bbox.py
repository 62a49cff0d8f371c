"""Box conventions.

``xywh``: ``[x, y, w, h]``, top-left corner 0-based, as the benchmarks publish.
``corner``: ``[x1, y1, x2, y2]``. ``center``: ``[cx, cy, w, h]``.
The benchmarks' pixel-centre convention puts the centre of an ``xywh`` box at
``x + (w - 1) / 2`` (see :func:`xywh_to_cxcywh`); the trackers start from it.
All functions work on numpy arrays whose last axis holds the four numbers, or
on 4-sequences/tuples of arrays (returned in the same form).
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np

ArrayLike = Union[np.ndarray, Sequence]


def corner2center(box):
    """``[x1, y1, x2, y2] -> [cx, cy, w, h]`` (no +1: continuous coordinates)."""
    if isinstance(box, np.ndarray) and box.ndim >= 1 and box.shape[-1] == 4:
        x1, y1, x2, y2 = np.moveaxis(box, -1, 0)
        return np.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1], axis=-1)
    x1, y1, x2, y2 = box
    return (x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1


def center2corner(box):
    """``[cx, cy, w, h] -> [x1, y1, x2, y2]``."""
    if isinstance(box, np.ndarray) and box.ndim >= 1 and box.shape[-1] == 4:
        cx, cy, w, h = np.moveaxis(box, -1, 0)
        return np.stack([cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5], axis=-1)
    cx, cy, w, h = box
    return cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5


def xywh_to_cxcywh(box: ArrayLike) -> Tuple[float, float, float, float]:
    """Benchmark box -> tracker state, centre at ``x + (w - 1) / 2``."""
    x, y, w, h = [float(v) for v in box]
    return x + (w - 1) / 2, y + (h - 1) / 2, w, h


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of corner boxes ``a [..., 4]`` and ``b [..., 4]`` (broadcast), continuous area."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def polygon_to_xywh_axis_aligned(region: ArrayLike) -> Tuple[float, float, float, float]:
    """VOT's 8-value rotated polygon -> ``(cx, cy, w, h)`` of an axis-aligned box of equal area.

    The box keeps the polygon's centre and the area of its rotated rectangle,
    with the aspect of the polygon's bounding box (the usual VOT initialisation).
    A 4-value ``xywh`` input is converted with the benchmark centre convention.
    """
    r = np.asarray(region, dtype=np.float64).ravel()
    if r.size == 4:
        return xywh_to_cxcywh(r)
    if r.size != 8:
        raise ValueError(f"a region has 4 (x,y,w,h) or 8 (polygon) numbers, got {r.size}")
    xs, ys = r[0::2], r[1::2]
    cx, cy = float(xs.mean()), float(ys.mean())
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    rot_area = np.linalg.norm(r[0:2] - r[2:4]) * np.linalg.norm(r[2:4] - r[4:6])
    box_area = (x2 - x1) * (y2 - y1)
    s = np.sqrt(rot_area / box_area) if box_area > 0 else 1.0
    return cx, cy, float(s * (x2 - x1) + 1), float(s * (y2 - y1) + 1)
