"""VOT long-term evaluation: tracking precision, recall and F-score.

For a confidence threshold ``tau`` a frame counts as *reported* when the
tracker's confidence is ``>= tau``. Per sequence:

* precision(tau) = mean IoU over reported frames (IoU 0 where the target is absent);
* recall(tau) = mean over frames where the target is present of the IoU,
  taken as 0 when the frame is not reported;

both are averaged over sequences (a sequence without reported frames is left
out of the precision average), and F(tau) = 2PR / (P + R). The score is the
maximum F over ``tau``; precision and recall are reported at that ``tau``.
Thresholds: up to 100 values spread over the sorted confidences of all frames.
The first frame (initialisation) is not scored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict

import numpy as np

from toolkit.utils.region import iou_xywh


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


def evaluate_vot_lt(
    tracker: str,
    gts: Dict[str, np.ndarray],
    preds: Dict[str, np.ndarray],
    confidences: Dict[str, np.ndarray],
    num_thresholds: int = 100,
) -> VOTLTResult:
    """``gts``/``preds``: video -> ``[N, 4]`` xywh (gt NaN where absent); ``confidences``: video -> ``[N]``."""
    names = list(gts)
    ious, confs, present = {}, {}, {}
    for n in names:
        gt, pred, conf = gts[n][1:], preds[n][1:], np.asarray(confidences[n], dtype=np.float64)[1:]
        if len(conf) != len(gt):
            raise ValueError(f"{tracker}/{n}: {len(conf) + 1} confidences for {len(gt) + 1} frames")
        present[n] = np.isfinite(gt).all(axis=1)
        ious[n] = np.where(present[n], iou_xywh(np.nan_to_num(gt), pred), 0.0)
        confs[n] = np.nan_to_num(conf, nan=-np.inf)
    pooled = np.sort(np.concatenate([c[np.isfinite(c)] for c in confs.values()] or [np.zeros(0)]))
    if len(pooled) == 0:
        raise ValueError(f"{tracker}: no finite confidence values")
    thresholds = pooled[np.unique(np.linspace(0, len(pooled) - 1, num_thresholds).astype(int))]
    precision = np.zeros(len(thresholds))
    recall = np.zeros(len(thresholds))
    p_count = np.zeros(len(thresholds))
    for n in names:
        reported = confs[n][None, :] >= thresholds[:, None]  # [T, N]
        num_reported = reported.sum(axis=1)
        score = (ious[n][None, :] * reported).sum(axis=1)
        has = num_reported > 0
        precision[has] += score[has] / num_reported[has]
        p_count += has
        recall += score / max(int(present[n].sum()), 1)
    precision = np.where(p_count > 0, precision / np.maximum(p_count, 1), 0.0)
    recall = recall / len(names)
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
