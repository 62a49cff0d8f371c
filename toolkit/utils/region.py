"""Vectorized box and polygon overlaps (pure NumPy, no compiled extension).

Conventions
-----------
* Boxes are ``[x, y, w, h]`` with ``(x, y)`` the top-left corner, in
  continuous image coordinates: the box covers ``[x, x + w] x [y, y + h]`` and
  its area is ``w * h`` (the OTB toolkit's convention, no ``+1``).
* Polygons are ``[N, K, 2]`` arrays of ``(x, y)`` vertices. A VOT row of 8
  numbers is a 4-vertex polygon; a row of 4 numbers is the box above turned
  into its 4 corners.
* Image bounds ``(width, height)`` mean the rectangle ``[0, width] x [0, height]``;
  VOT's overlap clips both regions to it before intersecting, so area outside
  the image neither helps nor hurts.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

Bounds = Optional[Tuple[float, float]]


def iou_xywh(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """IoU of ``[N, 4]`` xywh boxes, row by row, OTB style (continuous, ``w * h`` areas).

    Returns ``[N]`` float64 in ``[0, 1]``. Rows where either box is NaN or the
    union is empty give 0 (never NaN). Validity of the ground truth (``w, h > 0``)
    is the caller's decision: see :func:`valid_gt_mask`.
    """
    gt = np.asarray(gt, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    left = np.maximum(gt[:, 0], pred[:, 0])
    right = np.minimum(gt[:, 0] + gt[:, 2], pred[:, 0] + pred[:, 2])
    top = np.maximum(gt[:, 1], pred[:, 1])
    bottom = np.minimum(gt[:, 1] + gt[:, 3], pred[:, 1] + pred[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = gt[:, 2] * gt[:, 3] + pred[:, 2] * pred[:, 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = inter / union
    overlap = np.where(np.isfinite(overlap) & (union > 0), overlap, 0.0)
    return np.clip(overlap, 0.0, 1.0)


def valid_gt_mask(gt: np.ndarray) -> np.ndarray:
    """``[N]`` bool: ground-truth boxes with finite values and ``w > 0`` and ``h > 0``."""
    gt = np.asarray(gt, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(gt).all(axis=1) & (gt[:, 2] > 0) & (gt[:, 3] > 0)


def xywh_to_polygons(boxes: np.ndarray) -> np.ndarray:
    """``[N, 4]`` xywh -> ``[N, 4, 2]`` corners, clockwise in image coordinates."""
    b = np.asarray(boxes, dtype=np.float64)
    x1, y1 = b[:, 0], b[:, 1]
    x2, y2 = x1 + b[:, 2], y1 + b[:, 3]
    return np.stack(
        [np.stack([x1, y1], -1), np.stack([x2, y1], -1), np.stack([x2, y2], -1), np.stack([x1, y2], -1)],
        axis=1,
    )


def rows_to_polygons(rows: Union[np.ndarray, Sequence[Sequence[float]]]) -> np.ndarray:
    """Region rows (4 numbers = xywh box, 2K numbers = polygon) -> ``[N, K, 2]``.

    Rows of different lengths are padded by repeating their last vertex, which
    adds nothing to an area. Rows that are not regions (NaN, or VOT's 1-number
    markers) become all-NaN polygons, whose overlap with anything is 0.
    """
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        arr = rows.astype(np.float64, copy=False)
        if arr.shape[1] == 4:
            return xywh_to_polygons(arr)
        if arr.shape[1] % 2 == 0 and arr.shape[1] >= 6:
            return arr.reshape(len(arr), -1, 2)
        raise ValueError(f"a region row has 4 or an even number >= 6 of values, got {arr.shape[1]}")
    polys = []
    for row in rows:
        r = np.asarray(row, dtype=np.float64).ravel()
        if r.size == 4:
            polys.append(xywh_to_polygons(r[None])[0])
        elif r.size >= 6 and r.size % 2 == 0:
            polys.append(r.reshape(-1, 2))
        else:
            polys.append(np.full((4, 2), np.nan))
    k = max((len(p) for p in polys), default=4)
    out = np.empty((len(polys), k, 2))
    for i, p in enumerate(polys):
        out[i, : len(p)] = p
        out[i, len(p):] = p[-1]
    return out


def polygon_area(polys: np.ndarray, valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Signed shoelace area of ``[N, K, 2]`` polygons (positive = counter-clockwise
    in a y-up frame, i.e. clockwise on screen). ``valid [N, K]`` marks vertices to use;
    unused slots must already repeat a used vertex (see :func:`_compact`)."""
    x, y = polys[..., 0], polys[..., 1]
    xn, yn = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    terms = x * yn - xn * y
    if valid is not None:
        terms = np.where(valid.any(axis=1, keepdims=True), terms, 0.0)
    return 0.5 * np.sum(terms, axis=1)


def _compact(points: np.ndarray, valid: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Move each row's valid vertices to the front (order kept), trim the width to the
    longest row, and fill the tail with the row's last valid vertex so that the
    polygon stays closed for the shoelace formula and further clipping."""
    order = np.argsort(~valid, axis=1, kind="stable")
    points = np.take_along_axis(points, order[..., None], axis=1)
    valid = np.take_along_axis(valid, order, axis=1)
    counts = valid.sum(axis=1)
    width = max(int(counts.max(initial=0)), 1)
    points, valid = points[:, :width], valid[:, :width]
    last = np.clip(counts - 1, 0, None)
    fill = points[np.arange(len(points)), last]
    points = np.where(valid[..., None], points, fill[:, None, :])
    return points, valid


def clip_halfplane(
    points: np.ndarray, valid: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """One Sutherland–Hodgman step for every row at once: keep ``a*x + b*y + c >= 0``.

    ``points [N, K, 2]`` with each row's used vertices first (``valid [N, K]``);
    ``a, b, c`` are ``[N]`` (one half-plane per row). Returns the clipped
    polygons in the same representation (at most ``K + 1`` useful vertices each).
    """
    # Valid vertices sit at the front of each row (see _compact), so the edge leaving
    # slot i ends at slot (i + 1) mod count; the closing edge wraps to slot 0.
    count = np.maximum(valid.sum(axis=1), 1)
    next_index = (np.arange(points.shape[1])[None, :] + 1) % count[:, None]
    nxt = np.take_along_axis(points, next_index[..., None], axis=1)
    side = a[:, None] * points[..., 0] + b[:, None] * points[..., 1] + c[:, None]
    side_next = np.take_along_axis(side, next_index, axis=1)
    inside = side >= 0
    inside_next = side_next >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        t = side / (side - side_next)
        crossing = points + t[..., None] * (nxt - points)
    # Each edge (i -> i+1) emits its start vertex if inside, then the crossing point
    # if the edge changes side: two slots per edge, interleaved to keep the order.
    out = np.stack([points, crossing], axis=2).reshape(len(points), -1, 2)
    keep = np.stack([inside & valid, (inside != inside_next) & valid], axis=2).reshape(len(points), -1)
    return _compact(out, keep)


def _start(polys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    valid = np.isfinite(polys).all(axis=2)
    valid &= valid.all(axis=1, keepdims=True)  # a polygon with a NaN vertex is no region
    return _compact(np.nan_to_num(polys), valid)


def clip_to_bounds(points: np.ndarray, valid: np.ndarray, bounds: Bounds) -> Tuple[np.ndarray, np.ndarray]:
    """Clip polygons to ``[0, width] x [0, height]`` (``bounds = (width, height)``, or
    per-row ``[N, 2]``); ``None`` leaves them unclipped."""
    if bounds is None:
        return points, valid
    n = len(points)
    bw, bh = np.broadcast_to(np.asarray(bounds, dtype=np.float64), (n, 2)).T
    one, zero = np.ones(n), np.zeros(n)
    for a, b, c in ((one, zero, zero), (-one, zero, bw), (zero, one, zero), (zero, -one, bh)):
        points, valid = clip_halfplane(points, valid, a, b, c)
    return points, valid


def clip_by_convex(
    points: np.ndarray, valid: np.ndarray, clipper: np.ndarray, clipper_valid: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """Intersect polygons with convex ``clipper`` polygons (row by row).

    The clipper's orientation is read from its signed area, so either winding
    works; a degenerate clipper (zero area) yields an empty intersection.
    """
    orient = np.sign(polygon_area(clipper, clipper_valid))
    k = clipper.shape[1]
    for i in range(k):
        p, q = clipper[:, i], clipper[:, (i + 1) % k]
        # Inside of edge p->q for a positively oriented polygon: cross(q - p, x - p) >= 0.
        a = -(q[:, 1] - p[:, 1]) * orient
        b = (q[:, 0] - p[:, 0]) * orient
        c = -(a * p[:, 0] + b * p[:, 1])
        # A repeated (padding) vertex gives a zero edge: a = b = c = 0 keeps everything.
        points, valid = clip_halfplane(points, valid, a, b, c)
    empty = orient == 0
    if empty.any():
        valid = valid & ~empty[:, None]
    return points, valid


def polygon_overlap(region_a: np.ndarray, region_b: np.ndarray, bounds: Bounds = None) -> np.ndarray:
    """Intersection over union of two sets of convex regions, row by row.

    ``region_a``, ``region_b``: ``[N, K, 2]`` polygons (see :func:`rows_to_polygons`).
    ``bounds``: ``(width, height)`` of the image, or ``None``; both regions are
    clipped to it first (VOT protocol). Returns ``[N]`` float64 in ``[0, 1]``;
    rows with a missing region or an empty union give 0.
    """
    pa, va = clip_to_bounds(*_start(np.asarray(region_a, dtype=np.float64)), bounds)
    pb, vb = clip_to_bounds(*_start(np.asarray(region_b, dtype=np.float64)), bounds)
    area_a = np.abs(polygon_area(pa, va))
    area_b = np.abs(polygon_area(pb, vb))
    pi, vi = clip_by_convex(pa, va, pb, vb)
    inter = np.abs(polygon_area(pi, vi))
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.clip(overlap, 0.0, 1.0)


def region_overlaps(rows_a, rows_b, bounds: Bounds = None, method: str = "raster") -> np.ndarray:
    """Overlap of region rows (4-value boxes and/or polygons), row by row.

    ``method="raster"`` counts pixels like the VOT toolkit (:func:`raster_overlap`,
    the numbers VOT results are published with); ``"geometric"`` uses exact
    continuous areas (:func:`polygon_overlap`).
    """
    pa, pb = rows_to_polygons(rows_a), rows_to_polygons(rows_b)
    if method == "raster":
        return raster_overlap(pa, pb, bounds)
    if method == "geometric":
        return polygon_overlap(pa, pb, bounds)
    raise ValueError(f"overlap method must be 'raster' or 'geometric', got {method!r}")


# ---------------------------------------------------------------------- VOT raster overlap
def _scanline_spans(polys: np.ndarray, rows: np.ndarray, width: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per frame and scanline, the filled pixel interval ``[lo, hi]`` of a convex polygon.

    ``polys [n, K, 2]`` already offset to the raster origin, ``rows [H]`` scanline
    y values, ``width [n]`` raster widths. Follows the VOT toolkit's scanline
    fill: an edge crosses row ``Y`` when one end is ``< Y`` and the other ``>= Y``,
    the crossing x is truncated toward zero, and both ends are filled. Empty
    rows get ``lo > hi``.
    """
    x, y = polys[..., 0], polys[..., 1]
    xp, yp = np.roll(x, 1, axis=1), np.roll(y, 1, axis=1)  # the previous vertex closes the edge
    Y = rows[None, :, None]
    yi, yj, xi, xj = y[:, None, :], yp[:, None, :], x[:, None, :], xp[:, None, :]
    crosses = ((yi < Y) & (yj >= Y)) | ((yj < Y) & (yi >= Y))
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.trunc(xi + (Y - yi) / (yj - yi) * (xj - xi))
    lo = np.where(crosses, cx, np.inf).min(axis=2)
    hi = np.where(crosses, cx, -np.inf).max(axis=2)
    w = width[:, None].astype(np.float64)
    empty = ~np.isfinite(lo) | (lo >= w) | (hi < 0)
    lo = np.clip(lo, 0, None)
    hi = np.minimum(hi, w - 1)
    lo = np.where(empty, 1.0, lo)
    hi = np.where(empty, 0.0, hi)
    return lo, hi


def raster_overlap(region_a: np.ndarray, region_b: np.ndarray, bounds: Bounds = None, chunk: int = 256) -> np.ndarray:
    """VOT toolkit overlap: IoU of the *rasterized* regions, row by row.

    ``region_a``, ``region_b``: ``[N, K, 2]`` convex polygons (a box ``x,y,w,h``
    is the polygon of corners ``x .. x+w``, :func:`rows_to_polygons`);
    ``bounds = (width, height)``: pixels outside
    ``[0, width-1] x [0, height-1]`` are ignored. This reproduces the numbers
    of the VOT toolkit (and of the original PySOT's Cython extension) without
    compiling anything: per scanline each convex region is one pixel interval,
    so pixel counts are sums of interval lengths, vectorized over frames and rows.
    """
    a = np.asarray(region_a, dtype=np.float64)
    b = np.asarray(region_b, dtype=np.float64)
    n = len(a)
    out = np.zeros(n)
    ok = np.isfinite(a).all(axis=(1, 2)) & np.isfinite(b).all(axis=(1, 2))

    def box(p):
        return p[..., 0].min(1), p[..., 1].min(1), p[..., 0].max(1), p[..., 1].max(1)

    la, ta, ra, ba = box(np.nan_to_num(a))
    lb, tb, rb, bb = box(np.nan_to_num(b))
    if bounds is not None:
        bw, bh = np.broadcast_to(np.asarray(bounds, dtype=np.float64), (n, 2)).T
        right, bottom = bw - 1, bh - 1
        la, ta, lb, tb = np.maximum(la, 0), np.maximum(ta, 0), np.maximum(lb, 0), np.maximum(tb, 0)
        ra, ba, rb, bb = np.minimum(ra, right), np.minimum(ba, bottom), np.minimum(rb, right), np.minimum(bb, bottom)
    ok &= (np.minimum(ra, rb) >= np.maximum(la, lb)) & (np.minimum(ba, bb) >= np.maximum(ta, tb))
    x0, y0 = np.minimum(la, lb), np.minimum(ta, tb)
    width = (np.maximum(ra, rb) - x0).astype(np.int64) + 1
    height = (np.maximum(ba, bb) - y0).astype(np.int64) + 1
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(height[idx], kind="stable")]  # similar heights share a chunk
    for s in range(0, len(idx), chunk):
        sel = idx[s : s + chunk]
        rows = np.arange(int(height[sel].max()), dtype=np.float64)
        offset = np.stack([x0[sel], y0[sel]], axis=1)[:, None, :]
        lo1, hi1 = _scanline_spans(a[sel] - offset, rows, width[sel])
        lo2, hi2 = _scanline_spans(b[sel] - offset, rows, width[sel])
        inside = rows[None, :] < height[sel][:, None]
        n1 = (np.clip(hi1 - lo1 + 1, 0, None) * inside).sum(1)
        n2 = (np.clip(hi2 - lo2 + 1, 0, None) * inside).sum(1)
        ni = (np.clip(np.minimum(hi1, hi2) - np.maximum(lo1, lo2) + 1, 0, None) * inside).sum(1)
        union = n1 + n2 - ni
        out[sel] = np.where(union > 0, ni / np.where(union > 0, union, 1), 0.0)
    return out
