"""One-pass evaluation (OTB, LaSOT, UAV123, NFS, TrackingNet): success, precision,
normalized precision — vectorized over all frames of all videos and all thresholds.

Conventions (those of the OTB toolkit, which the published numbers use):

* IoU of ``x,y,w,h`` boxes with continuous areas ``w * h`` (:func:`iou_xywh`).
* Success at threshold ``t``: fraction of a video's frames with IoU ``> t`` for
  ``t`` in ``linspace(0, 1, 21)``; the AUC is the mean of that curve. A frame
  whose ground truth is not a box (``w`` or ``h`` <= 0, NaN) counts as a miss
  and stays in the denominator.
* Precision at ``d`` pixels: fraction of frames whose centre error is ``<= d``
  for ``d = 0..50``; the reported score is ``d = 20``. Centres are
  ``(x + w / 2, y + h / 2)`` (identical errors to ``x + (w - 1) / 2``). A frame
  whose ground-truth centre is not positive counts as a hit (OTB toolkit).
* Normalized precision (LaSOT, TrackingNet): the centre error divided by the
  ground-truth size per axis, ``<= t`` for ``t`` in ``linspace(0, 0.5, 11)``;
  reported as the curve's mean (its AUC) and as the value at ``t = 0.2``.
* Scores are per-video curves averaged over videos (each video weighs 1).
* LaSOT: all frames count, including those where the target is absent (the
  LaSOT toolkit's ground truth for those frames does not overlap any box, so
  they are misses unless flagged invalid as above).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from toolkit.utils.region import iou_xywh, valid_gt_mask

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
PRECISION_AT = 20.0
NORM_PRECISION_THRESHOLDS = np.linspace(0.0, 0.5, 11)
NORM_PRECISION_AT = 0.2
_PRECISION_AT_INDEX = int(np.flatnonzero(PRECISION_THRESHOLDS == PRECISION_AT)[0])


def _centres(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + boxes[:, 2:] / 2.0


def frame_ious(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """``[N]`` IoU per frame; -1 where the ground truth is no box (so it never counts as a hit)."""
    return np.where(valid_gt_mask(gt), iou_xywh(gt, pred), -1.0)


def frame_centre_errors(gt: np.ndarray, pred: np.ndarray, normalized: bool = False) -> np.ndarray:
    """``[N]`` Euclidean centre error (pixels, or per-axis normalized by the gt size).

    -1 where the ground-truth centre is not positive (counts as a hit, OTB toolkit);
    +inf where the prediction is missing (NaN), so it never counts as a hit.
    """
    gc, pc = _centres(gt), _centres(pred)
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = (gc > 0).all(axis=1)
        diff = gc - pc
        if normalized:
            diff = diff / gt[:, 2:]
        err = np.sqrt(np.sum(diff * diff, axis=1))
    err = np.where(np.isnan(err), np.inf, err)
    return np.where(valid, err, -1.0)


def _per_video_rates(values: np.ndarray, thresholds: np.ndarray, offsets: np.ndarray, above: bool) -> np.ndarray:
    """``[V, T]`` fraction of each video's frames with value ``> t`` (above) or ``<= t``.

    Equivalent to comparing every frame with every threshold, but done as one
    ``searchsorted`` + ``bincount``: ``k = #{t < value}`` decides both tests
    (``value > t_j`` iff ``j < k``; ``value <= t_j`` iff ``j >= k``).
    """
    num_t = len(thresholds)
    values = np.where(np.isnan(values), -np.inf if above else np.inf, values)
    k = np.searchsorted(thresholds, values, side="left")
    lengths = np.diff(offsets)
    video = np.repeat(np.arange(len(lengths)), lengths)
    hist = np.bincount(video * (num_t + 1) + k, minlength=len(lengths) * (num_t + 1)).reshape(-1, num_t + 1)
    if above:
        # frames with k > j: sum of hist[:, j+1:]
        counts = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]
    else:
        counts = np.cumsum(hist, axis=1)[:, :num_t]
    return counts / lengths[:, None]


@dataclass
class OPEResult:
    """Per-video curves of one tracker; ``videos`` keeps the dataset order."""

    tracker: str
    videos: List[str]
    success: np.ndarray  # [V, 21]
    precision: np.ndarray  # [V, 51]
    norm_precision: Optional[np.ndarray] = None  # [V, 11]
    attributes: Dict[str, List[str]] = field(default_factory=dict)  # video -> attribute names

    @property
    def auc(self) -> float:
        return float(self.success.mean()) if len(self.videos) else float("nan")

    @property
    def precision_at_20(self) -> float:
        return float(self.precision[:, _PRECISION_AT_INDEX].mean()) if len(self.videos) else float("nan")

    @property
    def norm_precision_auc(self) -> Optional[float]:
        return None if self.norm_precision is None else float(self.norm_precision.mean())

    @property
    def norm_precision_at_02(self) -> Optional[float]:
        if self.norm_precision is None:
            return None
        idx = int(np.argmin(np.abs(NORM_PRECISION_THRESHOLDS - NORM_PRECISION_AT)))
        return float(self.norm_precision[:, idx].mean())

    def subset(self, names: List[str]) -> "OPEResult":
        """The same tracker restricted to ``names`` (e.g. one attribute's videos)."""
        rows = [self.videos.index(n) for n in names]
        return OPEResult(
            self.tracker,
            list(names),
            self.success[rows],
            self.precision[rows],
            None if self.norm_precision is None else self.norm_precision[rows],
            {n: self.attributes.get(n, []) for n in names},
        )

    def summary(self) -> Dict[str, float]:
        out = {"success_auc": self.auc, "precision": self.precision_at_20}
        if self.norm_precision is not None:
            out["norm_precision_auc"] = self.norm_precision_auc
            out["norm_precision@0.2"] = self.norm_precision_at_02
        return out

    def per_video(self) -> Dict[str, Dict[str, float]]:
        idx = _PRECISION_AT_INDEX
        out = {}
        for i, name in enumerate(self.videos):
            row = {"success_auc": float(self.success[i].mean()), "precision": float(self.precision[i, idx])}
            if self.norm_precision is not None:
                row["norm_precision_auc"] = float(self.norm_precision[i].mean())
            out[name] = row
        return out


def evaluate_ope(
    tracker: str,
    gts: Dict[str, np.ndarray],
    preds: Dict[str, np.ndarray],
    normalized_precision: bool = False,
    attributes: Optional[Dict[str, List[str]]] = None,
) -> OPEResult:
    """Success / precision (/ normalized precision) curves of every video at once.

    ``gts`` and ``preds`` map video name -> ``[N, 4]`` xywh boxes of equal length
    (align result files first, see :func:`toolkit.utils.results.align_boxes`).
    All frames of all videos are stacked so each metric is one vectorized pass.
    """
    names = list(gts)
    if not names:
        return OPEResult(tracker, [], np.zeros((0, 21)), np.zeros((0, 51)))
    for n in names:
        if len(gts[n]) != len(preds[n]):
            raise ValueError(f"{tracker}/{n}: {len(preds[n])} boxes for {len(gts[n])} frames")
        if len(gts[n]) == 0:
            raise ValueError(f"{tracker}/{n}: the video has no annotated frames")
    gt = np.concatenate([gts[n] for n in names]).astype(np.float64, copy=False)
    pred = np.concatenate([preds[n] for n in names]).astype(np.float64, copy=False)
    offsets = np.concatenate([[0], np.cumsum([len(gts[n]) for n in names])])
    success = _per_video_rates(frame_ious(gt, pred), SUCCESS_THRESHOLDS, offsets, above=True)
    precision = _per_video_rates(frame_centre_errors(gt, pred), PRECISION_THRESHOLDS, offsets, above=False)
    norm = None
    if normalized_precision:
        norm_err = frame_centre_errors(gt, pred, normalized=True)
        norm = _per_video_rates(norm_err, NORM_PRECISION_THRESHOLDS, offsets, above=False)
    return OPEResult(tracker, names, success, precision, norm, dict(attributes or {}))
