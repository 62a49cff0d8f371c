"""VOT long-term evaluation: tracking precision, recall and F-score.

The numbers of the original PySOT's F1 benchmark (and of the VOT toolkit's
long-term analysis, which it follows):

* Overlap per frame: the VOT toolkit's raster overlap of the predicted box with
  the ground truth, both bounded by the image ``(width, height)``
  (:func:`toolkit.utils.region.raster_overlap`); 0 where the target is absent
  (NaN ground truth) or there is no prediction. Without a known image size the
  overlap is unbounded.
* The first frame (initialisation) is never *reported*: its confidence is
  ignored, whatever the file holds there (PySOT writes an empty line).
* Thresholds: ``+inf``, 98 values picked evenly from the sorted confidences of
  all frames of all videos, and ``-inf``; at ``-inf`` a frame is reported when
  its confidence is ``> 0``, otherwise when it is ``>= tau``.
* Per video: precision(tau) = mean overlap over reported frames (1 when none is
  reported); recall(tau) = sum of their overlaps / number of frames where the
  target is visible (the first frame included).
* Precision and recall curves are averaged over videos, F(tau) = 2PR / (P + R),
  and the score is the maximum F, with P and R at that threshold.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from toolkit.utils.region import Bounds, region_overlaps

#: Thresholds between the two infinite ones (PySOT's ``determine_thresholds(resolution=100)``).
NUM_THRESHOLDS = 100


@dataclass
class VOTLTResult:
    tracker: str
    precision: float
    recall: float
    f_score: float
    threshold: float
    curves: Dict[str, np.ndarray] = field(default_factory=dict)  # thresholds, precision, recall, f

    def summary(self) -> Dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f_score": self.f_score}


def lt_thresholds(scores: np.ndarray, resolution: int = NUM_THRESHOLDS) -> np.ndarray:
    """``[resolution]`` decreasing thresholds: ``+inf``, ``resolution - 2`` sorted confidences, ``-inf``.

    PySOT's rule (indices ``round(linspace(d - 1, n - d, resolution - 2))`` with
    ``d = n // (resolution - 2)``). With fewer confidences than ``resolution - 2``
    PySOT indexes out of range; the indices are clipped to the scores here.
    """
    scores = np.sort(scores[~np.isnan(scores)])
    n = len(scores)
    delta = n // (resolution - 2)
    idx = np.floor(np.linspace(delta - 1, n - delta, resolution - 2) + 0.5).astype(np.int64)
    inner = scores[np.clip(idx, 0, n - 1)] if n else np.zeros(0)
    return np.concatenate([[np.inf], inner[::-1], [-np.inf]])


def evaluate_vot_lt(
    tracker: str,
    gts: Dict[str, np.ndarray],
    preds: Dict[str, np.ndarray],
    confidences: Dict[str, np.ndarray],
    bounds: Optional[Dict[str, Bounds]] = None,
    num_thresholds: int = NUM_THRESHOLDS,
) -> VOTLTResult:
    """``gts``/``preds``: video -> ``[N, 4]`` xywh (NaN where the target is absent / no box);
    ``confidences``: video -> ``[N]``; ``bounds``: video -> ``(width, height)`` or None."""
    names = list(gts)
    bounds = bounds or {}
    overlaps, confs, visible = {}, {}, {}
    for n in names:
        gt, pred = np.asarray(gts[n], dtype=np.float64), np.asarray(preds[n], dtype=np.float64)
        conf = np.asarray(confidences[n], dtype=np.float64)
        if len(conf) != len(gt) or len(pred) != len(gt):
            raise ValueError(f"{tracker}/{n}: {len(pred)} boxes and {len(conf)} confidences for {len(gt)} frames")
        present = np.isfinite(gt).all(axis=1)
        ov = np.zeros(len(gt))
        both = np.flatnonzero(present & np.isfinite(pred).all(axis=1))
        if len(both):
            ov[both] = region_overlaps(pred[both], gt[both], bounds.get(n))
        overlaps[n] = ov
        conf = conf.copy()
        conf[:1] = np.nan  # the initialisation frame is never reported
        confs[n] = conf
        visible[n] = int(present.sum())
    pooled = np.concatenate([confs[n] for n in names]) if names else np.zeros(0)
    if not np.isfinite(pooled).any():
        raise ValueError(f"{tracker}: no finite confidence values")
    thresholds = lt_thresholds(pooled, num_thresholds)
    precision = np.zeros(len(thresholds))
    recall = np.zeros(len(thresholds))
    for n in names:
        score = np.nan_to_num(confs[n], nan=0.0)
        reported = score[None, :] >= thresholds[:, None]  # [T, N]
        reported[np.isneginf(thresholds)] = score > 0
        count = reported.sum(axis=1)
        total = (reported * overlaps[n][None, :]).sum(axis=1)
        precision += np.where(count > 0, total / np.maximum(count, 1), 1.0)
        recall += np.where(count > 0, total / max(visible[n], 1), 0.0)
    precision /= len(names)
    recall /= len(names)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f))
    return VOTLTResult(
        tracker,
        float(precision[best]),
        float(recall[best]),
        float(f[best]),
        float(thresholds[best]),
        {"thresholds": thresholds, "precision": precision, "recall": recall, "f": f},
    )
