"""GOT-10k evaluation: average overlap (AO) and success rates SR0.5 / SR0.75.

The GOT-10k protocol scores every frame after the first whose target is
visible (``absence.label`` 0); frames of all sequences are pooled (each frame
weighs 1); IoU of ``x,y,w,h`` boxes with continuous areas. SR_t is the share
of those frames with IoU ``> t``. Test-split annotations are private (first
box only): those are scored by the evaluation server, not here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from toolkit.utils.region import iou_xywh


@dataclass
class GOT10kResult:
    tracker: str
    ao: float
    sr50: float
    sr75: float
    per_video: Dict[str, Dict[str, float]] = field(default_factory=dict)

    def summary(self) -> Dict[str, float]:
        return {"ao": self.ao, "sr0.5": self.sr50, "sr0.75": self.sr75}


def evaluate_got10k(
    tracker: str,
    gts: Dict[str, np.ndarray],
    preds: Dict[str, np.ndarray],
    absent: Optional[Dict[str, np.ndarray]] = None,
) -> GOT10kResult:
    """``gts``/``preds``: video -> ``[N, 4]`` xywh; ``absent``: video -> ``[N]`` bool."""
    per_video, pooled = {}, []
    for n, gt in gts.items():
        if len(gt) < 2:
            raise ValueError(f"{tracker}/{n}: only the first box is annotated (test split); use the GOT-10k server")
        keep = np.ones(len(gt), dtype=bool)
        keep[0] = False
        if absent is not None and absent.get(n) is not None:
            keep &= ~absent[n]
        keep &= np.isfinite(gt).all(axis=1)
        ious = iou_xywh(gt[keep], preds[n][keep])
        pooled.append(ious)
        per_video[n] = {"ao": float(ious.mean()) if len(ious) else float("nan")}
    ious = np.concatenate(pooled) if pooled else np.zeros(0)
    if len(ious) == 0:
        raise ValueError(f"{tracker}: no scorable frames")
    return GOT10kResult(tracker, float(ious.mean()), float((ious > 0.5).mean()), float((ious > 0.75).mean()), per_video)
