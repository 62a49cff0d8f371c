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
    flat = [np.asarray(row, dtype=np.float64).ravel() for row in rows]
    sizes = np.array([r.size for r in flat], dtype=np.int64)
    is_region = (sizes == 4) | ((sizes >= 6) & (sizes % 2 == 0))
    k = max([4] + [int(size) // 2 for size in np.unique(sizes[is_region])])
    out = np.full((len(flat), k, 2), np.nan)
    # Rows of one length are converted together (result files hold thousands of rows).
    for size in np.unique(sizes[is_region]):
        sel = np.flatnonzero(sizes == size)
        block = np.stack([flat[i] for i in sel])
        poly = xywh_to_polygons(block) if size == 4 else block.reshape(len(sel), -1, 2)
        out[sel, : poly.shape[1]] = poly
        out[sel, poly.shape[1]:] = poly[:, -1:]  # repeat the last vertex: adds no area, no edge
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
# The VOT toolkit (trax ``region.c``, which the original PySOT compiles as
# ``toolkit/utils/region``) counts pixels of two rasterized polygons. Its
# numbers depend on details that are reproduced here rather than improved:
# vertices are C floats (float32); each region's bounding box is rounded
# outward (floor/ceil) and cut to the bounds ``[0, width] x [0, height]``, both
# ends *included*; the raster covers the union of those two boxes; the vertices,
# shifted to the raster origin in float32, are rounded half away from zero; on
# each scanline every non-horizontal edge whose (closed) y-range holds the row
# gives a node, x truncated toward zero; sorted nodes are filled in pairs with
# both ends included, a pair of equal nodes being skipped one node at a time.
_MAX_ROWS_PER_CHUNK = 1 << 17  # scanlines per vectorized batch (bounds the memory)


def _c_round(values: np.ndarray) -> np.ndarray:
    """C's ``round``: halves away from zero (NumPy's ``round`` goes to even)."""
    v = values.astype(np.float64)
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.float32)


def _raster_frame_boxes(a32: np.ndarray, b32: np.ndarray, bounds: Bounds):
    """The C code's per-frame raster window and early exits, in float32 like the C structs.

    ``a32``, ``b32``: ``[n, K, 2]`` float32. Returns ``(x0, y0, width, height, skip)``:
    raster origin, raster size (int64) and ``[n]`` bool for frames whose overlap is 0
    without rasterizing (empty or far too unequal boxes, or boxes that only touch).
    """
    n = len(a32)
    if bounds is None:
        lim = np.array([[-np.inf, -np.inf, np.inf, np.inf]], np.float32).repeat(n, 0)
    else:
        wh = np.broadcast_to(np.asarray(bounds, dtype=np.float64), (n, 2)).astype(np.float32)
        lim = np.stack([np.zeros(n, np.float32), np.zeros(n, np.float32), wh[:, 0], wh[:, 1]], axis=1)

    def box(p):
        left, top = np.floor(p[..., 0].min(1)), np.floor(p[..., 1].min(1))
        right, bottom = np.ceil(p[..., 0].max(1)), np.ceil(p[..., 1].max(1))
        return (np.maximum(left, lim[:, 0]), np.maximum(top, lim[:, 1]),
                np.minimum(right, lim[:, 2]), np.minimum(bottom, lim[:, 3]))

    l1, t1, r1, b1 = box(a32)
    l2, t2, r2, b2 = box(b32)
    x0, y0 = np.minimum(l1, l2), np.minimum(t1, t2)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        width_f = np.maximum(r1, r2) - x0
        height_f = np.maximum(b1, b2) - y0
        finite = np.isfinite(width_f) & np.isfinite(height_f)
        width = np.where(finite, np.trunc(np.where(finite, width_f, 0)), 0).astype(np.int64) + 1
        height = np.where(finite, np.trunc(np.where(finite, height_f, 0)), 0).astype(np.int64) + 1
        area1 = ((r1 - l1) * (b1 - t1)).astype(np.float64)
        area2 = ((r2 - l2) * (b2 - t2)).astype(np.float64)
        # NaN ratios (both boxes empty) fail these tests in C as well and go on.
        skip = (area1 / area2 < 1e-10) | (area2 / area1 < 1e-10) | (width < 1) | (height < 1) | ~finite
        inter = (np.minimum(r1, r2) - np.maximum(l1, l2)) * (np.minimum(b1, b2) - np.maximum(t1, t2))
        ratio = inter / ((r1 - l1) * (b1 - t1) + (r2 - l2) * (b2 - t2) - inter)
    skip |= ratio <= 0  # bounds_overlap() == 0: boxes that are disjoint or only touch
    return x0, y0, width, height, skip


def _node_spans(nodes: np.ndarray, count: np.ndarray, w: np.ndarray, slots: int) -> Tuple[np.ndarray, np.ndarray]:
    """The C fill loop over sorted scanline nodes ``[R, K]`` (``count [R]`` real ones, then
    +inf) for rasters ``w [R]`` wide: ``lo, hi [R, slots]`` disjoint filled intervals
    (both ends included), empty slots as ``lo > hi``."""
    k = nodes.shape[1]
    lo = np.ones((len(nodes), slots))
    hi = np.zeros_like(lo)
    ptr = np.zeros(len(nodes), dtype=np.int64)
    used = np.zeros_like(ptr)
    live = np.arange(len(nodes))
    for _ in range(k):
        # Only rows still inside their node list take part (most are done after one pair).
        live = live[ptr[live] < count[live] - 1]
        if len(live) == 0:
            break
        p = ptr[live]
        a, b = nodes[live, p], nodes[live, p + 1]
        wl = w[live]
        same = a == b  # e.g. the two edges meeting at a vertex on this row: skip one node
        stop = ~same & (a >= wl)  # the C loop breaks at a node right of the raster
        fill = ~same & ~stop & (b >= 0)
        new_lo, new_hi = np.maximum(a, 0), np.minimum(b, wl - 1)
        u = used[live]
        # A pair may start on the pixel where the previous one ended: merge, as the mask would.
        prev_hi = hi[live, np.maximum(u - 1, 0)]
        merge = fill & (u > 0) & (new_lo <= prev_hi)
        hi[live[merge], u[merge] - 1] = np.maximum(prev_hi[merge], new_hi[merge])
        add = fill & ~merge
        rows_add, slot = live[add], np.minimum(u[add], slots - 1)
        lo[rows_add, slot] = new_lo[add]
        hi[rows_add, slot] = new_hi[add]
        used[rows_add] += 1
        ptr[live] = p + np.where(same, 1, 2)
        live = live[~stop]
    return lo, hi


def _row_spans(poly: np.ndarray, frame: np.ndarray, y: np.ndarray, width: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Filled pixel intervals of rasterized polygons on given scanlines.

    ``poly [n, K, 2]`` float64 integer vertices (shifted to the raster origin and
    rounded); ``frame [R]``, ``y [R]``: the polygon and scanline of each requested
    row; ``width [n]`` raster widths. Returns ``lo, hi [R, M]`` (M = K // 2 slots).
    """
    k = poly.shape[1]
    slots = max(k // 2, 1)
    x, yv = poly[..., 0], poly[..., 1]
    w = width[frame].astype(np.float64)
    lo = np.ones((len(frame), slots))
    hi = np.zeros_like(lo)
    # An axis-aligned rectangle (every box x,y,w,h) fills, on each row of its closed y-range,
    # the columns between its two vertical edges; zero width or height fills nothing.
    rect = np.zeros(len(poly), dtype=bool)
    if k == 4:
        rect = (((x[:, 0] == x[:, 3]) & (x[:, 1] == x[:, 2]) & (yv[:, 0] == yv[:, 1]) & (yv[:, 2] == yv[:, 3]))
                | ((x[:, 0] == x[:, 1]) & (x[:, 2] == x[:, 3]) & (yv[:, 1] == yv[:, 2]) & (yv[:, 3] == yv[:, 0])))
    in_rect = rect[frame]
    if in_rect.any():
        f = frame[in_rect]
        x_min, x_max = x.min(1)[f], x.max(1)[f]
        y_min, y_max = yv.min(1)[f], yv.max(1)[f]
        wr = w[in_rect]
        ok = (x_min < x_max) & (y_min < y_max) & (x_min < wr) & (x_max >= 0)
        lo[in_rect, 0] = np.where(ok, np.maximum(x_min, 0), 1.0)
        hi[in_rect, 0] = np.where(ok, np.minimum(x_max, wr - 1), 0.0)
    general = np.flatnonzero(~in_rect)
    if len(general) == 0:
        return lo, hi
    f, Y = frame[general], y[general][:, None].astype(np.float64)
    xi, yi = x[f], yv[f]
    xj, yj = np.roll(xi, 1, axis=1), np.roll(yi, 1, axis=1)  # edge i runs from vertex i-1 to i
    spans = (np.minimum(yi, yj) <= Y) & (Y <= np.maximum(yi, yj)) & (yi != yj)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # The C expression, in double: x_i + (Y - y_i) / (y_j - y_i) * (x_j - x_i), truncated.
        node = np.trunc(xi + (Y - yi) / (yj - yi) * (xj - xi))
    nodes = np.sort(np.where(spans, node, np.inf), axis=1)
    lo[general], hi[general] = _node_spans(nodes, spans.sum(axis=1), w[general], slots)
    return lo, hi


def _ragged_rows(first: np.ndarray, last: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``first[i] .. last[i]`` of every frame ``i``, concatenated: ``(frame [R], y [R], start [n])``."""
    count = np.maximum(last - first + 1, 0)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    frame = np.repeat(np.arange(len(first)), count)
    y = first[frame] + (np.arange(len(frame)) - start[frame])
    return frame, y, start


def raster_overlap(region_a: np.ndarray, region_b: np.ndarray, bounds: Bounds = None) -> np.ndarray:
    """VOT toolkit overlap: IoU of the *rasterized* regions, row by row.

    ``region_a``, ``region_b``: ``[N, K, 2]`` polygons (a box ``x,y,w,h`` is the
    polygon of corners ``x .. x+w``, :func:`rows_to_polygons`); ``bounds``:
    ``(width, height)`` (or ``[N, 2]``) of the image: pixels in columns
    ``0..width`` and rows ``0..height`` count, as in the VOT toolkit; ``None``
    leaves the regions unbounded.

    Reproduces the VOT toolkit's C region code (the original PySOT's
    ``vot_overlap``) to float32 precision (see the notes above), without
    compiling anything: a scanline of a polygon is a few pixel intervals, so
    pixel counts are sums of interval lengths, vectorized over frames and rows.
    Returns ``[N]`` float64; rows with a missing region, or whose regions cover
    no pixel at all (the C code's 0/0), give 0.
    """
    a = np.asarray(region_a, dtype=np.float64)
    b = np.asarray(region_b, dtype=np.float64)
    n = len(a)
    out = np.zeros(n)
    ok = np.isfinite(a).all(axis=(1, 2)) & np.isfinite(b).all(axis=(1, 2))
    if bounds is not None:
        bounds = np.broadcast_to(np.asarray(bounds, dtype=np.float64), (n, 2))
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        return out
    a32, b32 = a[idx].astype(np.float32), b[idx].astype(np.float32)
    x0, y0, width, height, skip = _raster_frame_boxes(a32, b32, None if bounds is None else bounds[idx])
    keep = ~skip
    idx, a32, b32, x0, y0, width, height = (v[keep] for v in (idx, a32, b32, x0, y0, width, height))
    offset = np.stack([x0, y0], axis=1)[:, None, :].astype(np.float32)
    pa = _c_round(a32 - offset).astype(np.float64)
    pb = _c_round(b32 - offset).astype(np.float64)
    # Scanlines that can hold pixels: the polygon's rounded y-range inside the raster.
    first_a, last_a = np.maximum(pa[..., 1].min(1), 0), np.minimum(pa[..., 1].max(1), height - 1)
    first_b, last_b = np.maximum(pb[..., 1].min(1), 0), np.minimum(pb[..., 1].max(1), height - 1)
    first_a, last_a, first_b, last_b = (v.astype(np.int64) for v in (first_a, last_a, first_b, last_b))
    rows = np.maximum(last_a - first_a + 1, 0) + np.maximum(last_b - first_b + 1, 0)
    chunk = np.cumsum(rows) // _MAX_ROWS_PER_CHUNK
    for sel in np.split(np.arange(len(idx)), np.flatnonzero(np.diff(chunk)) + 1):
        fa, ya, sa = _ragged_rows(first_a[sel], last_a[sel])
        fb, yb, sb = _ragged_rows(first_b[sel], last_b[sel])
        lo1, hi1 = _row_spans(pa[sel], fa, ya, width[sel])
        lo2, hi2 = _row_spans(pb[sel], fb, yb, width[sel])
        n1 = np.bincount(fa, np.clip(hi1 - lo1 + 1, 0, None).sum(1), minlength=len(sel))
        n2 = np.bincount(fb, np.clip(hi2 - lo2 + 1, 0, None).sum(1), minlength=len(sel))
        # Shared scanlines: the same rows looked up in both polygons' lists.
        first_c = np.maximum(first_a[sel], first_b[sel])
        fc, yc, _ = _ragged_rows(first_c, np.minimum(last_a[sel], last_b[sel]))
        ia = sa[fc] + (yc - first_a[sel][fc])
        ib = sb[fc] + (yc - first_b[sel][fc])
        both = (np.minimum(hi1[ia][:, :, None], hi2[ib][:, None, :])
                - np.maximum(lo1[ia][:, :, None], lo2[ib][:, None, :]) + 1)
        ni = np.bincount(fc, np.clip(both, 0, None).sum((1, 2)), minlength=len(sel))
        union = n1 + n2 - ni
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = ni.astype(np.float32) / union.astype(np.float32)  # the C code divides in float
        out[idx[sel]] = np.where(union > 0, ratio.astype(np.float64), 0.0)
    return out
