"""GOT-10k evaluation: average overlap (AO) and success rates SR0.5 / SR0.75.

Reproduces the official GOT-10k toolkit's ``ExperimentGOT10k.report`` (validation
split): every repetition ``<video>_NNN.txt`` of a video is scored and pooled;
frames after the first whose target is visible (``cover.label`` > 0, else
``absence.label`` 0) count; both boxes are first bounded by the image
(``x`` to ``[0, W]``, ``w`` to ``[0, W - x]``, likewise ``y, h``) and the IoU uses
continuous ``w * h`` areas; AO and SR_t pool all frames of all videos (each frame
weighs 1); SR_t counts IoU ``> t``. Test-split annotations are private (first box
only): those are scored by the evaluation server, not here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from toolkit.utils.region import iou_xywh

#: Success-curve thresholds of the GOT-10k toolkit (``linspace(0, 1, 101)``).
SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 101)


@dataclass
class GOT10kResult:
    tracker: str
    ao: float
    sr50: float
    sr75: float
    per_video: Dict[str, Dict[str, float]] = field(default_factory=dict)
    #: ``[101]`` share of frames with IoU above each of :data:`SUCCESS_THRESHOLDS`.
    success_curve: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def summary(self) -> Dict[str, float]:
        return {"ao": self.ao, "sr0.5": self.sr50, "sr0.75": self.sr75}


def bound_boxes(boxes: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``[N, 4]`` xywh boxes cut to a ``(width, height)`` image the GOT-10k toolkit's way: the corner
    is clipped into the image, then the size to what is left of it (a box left of the image keeps
    its width, only moved)."""
    width, height = size
    out = np.array(boxes, dtype=np.float64, copy=True)
    out[:, 0] = np.clip(out[:, 0], 0, width)
    out[:, 1] = np.clip(out[:, 1], 0, height)
    out[:, 2] = np.clip(out[:, 2], 0, width - out[:, 0])
    out[:, 3] = np.clip(out[:, 3], 0, height - out[:, 1])
    return out


def evaluate_got10k(
    tracker: str,
    gts: Dict[str, np.ndarray],
    preds: Dict[str, Union[np.ndarray, Sequence[np.ndarray]]],
    absent: Optional[Dict[str, np.ndarray]] = None,
    bounds: Optional[Dict[str, Optional[Tuple[int, int]]]] = None,
) -> GOT10kResult:
    """``gts``: video -> ``[N, 4]`` xywh; ``preds``: video -> ``[N, 4]`` or a list of repetitions,
    each ``[N, 4]``; ``absent``: video -> ``[N]`` bool; ``bounds``: video -> ``(width, height)``
    (None: overlaps unbounded, as for a dataset without image sizes)."""
    per_video, pooled = {}, []
    for n, gt in gts.items():
        if len(gt) < 2:
            raise ValueError(f"{tracker}/{n}: only the first box is annotated (test split); use the GOT-10k server")
        keep = np.ones(len(gt), dtype=bool)
        keep[0] = False
        if absent is not None and absent.get(n) is not None:
            keep &= ~absent[n]
        keep &= np.isfinite(gt).all(axis=1)
        runs: List[np.ndarray] = [preds[n]] if isinstance(preds[n], np.ndarray) else list(preds[n])
        size = bounds.get(n) if bounds else None
        video_ious = []
        for boxes in runs:
            g, p = gt[keep], boxes[keep]
            if size is not None:
                g, p = bound_boxes(g, size), bound_boxes(p, size)
            video_ious.append(iou_xywh(g, p))
        ious = np.concatenate(video_ious)
        pooled.append(ious)
        per_video[n] = {"ao": float(ious.mean()) if len(ious) else float("nan"), "repetitions": len(runs)}
    ious = np.concatenate(pooled) if pooled else np.zeros(0)
    if len(ious) == 0:
        raise ValueError(f"{tracker}: no scorable frames")
    curve = (ious[:, None] > SUCCESS_THRESHOLDS[None, :]).mean(axis=0)
    return GOT10kResult(tracker, float(ious.mean()), float((ious > 0.5).mean()), float((ious > 0.75).mean()),
                        per_video, curve)
