"""A model that outputs NaN or inf (a diverged checkpoint, fp16 overflow) never gives a NaN score, box or mask."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pysot.tracker import DaSiamRPNTracker, SiamFCTracker, SiamMaskTracker, SiamRPNLTTracker, SiamRPNTracker
from tracker_helpers import ScriptedRPN, ScriptedSiamFC, assert_box_sane

# How the cls logits go bad: everywhere, on part of the map, or as infinities.
CORRUPTIONS = ["all_nan", "half_nan", "inf"]


def _corrupt(t: torch.Tensor, how: str) -> torch.Tensor:
    t = t.clone()
    if how == "all_nan":
        t[:] = float("nan")
    elif how == "half_nan":
        t[..., : t.shape[-1] // 2] = float("nan")
    else:
        t[..., ::2] = float("inf")
        t[..., 1::2] = -float("inf")
    return t


class CorruptRPN(ScriptedRPN):
    """A confident centred peak, then ``cls`` (and ``loc``, and the refined mask) corrupted."""

    def __init__(self, how: str, base_size: int = 8):
        super().__init__(lambda frame, is_target, n: [(2, n // 2, n // 2, 0.9, (0.0, 0.0, 0.0, 0.0))],
                         base_size=base_size)
        self.how = how

    def track(self, x):
        out = super().track(x)
        return {"cls": _corrupt(out["cls"], self.how), "loc": _corrupt(out["loc"], self.how), "mask": None}

    def mask_refine(self, pos):
        return _corrupt(torch.zeros(1, 127 * 127), self.how)


def _frame():
    return np.random.default_rng(5).integers(0, 255, (240, 320, 3), dtype=np.uint8)


RPN_TRACKERS = {
    "SiamRPNTracker": lambda how: SiamRPNTracker(CorruptRPN(how)),
    "SiamRPNLTTracker": lambda how: SiamRPNLTTracker(CorruptRPN(how)),
    "SiamMaskTracker": lambda how: SiamMaskTracker(CorruptRPN(how)),
    # Both DaSiamRPN extras on: the distractor re-scoring and the growing global search.
    "DaSiamRPNTracker": lambda how: DaSiamRPNTracker(CorruptRPN(how, base_size=0), distractor=True,
                                                     global_search=True, base_size=0, instance_size=271),
}


@pytest.mark.parametrize("how", CORRUPTIONS)
@pytest.mark.parametrize("name", sorted(RPN_TRACKERS))
def test_rpn_trackers_never_report_nan(name, how):
    tracker = RPN_TRACKERS[name](how)
    tracker.init(_frame(), [100, 80, 40, 30])
    for _ in range(3):
        out = tracker.track(_frame())
        assert isinstance(out["best_score"], float) and math.isfinite(out["best_score"]), out["best_score"]
        assert 0.0 <= out["best_score"] <= 1.0
        assert_box_sane(out["bbox"], (240, 320))
        if "mask" in out:
            assert np.isfinite(out["mask"]).all() and np.isfinite(out["polygon"]).all()


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_siamfc_never_reports_nan(how):
    def responses(frame, batch):
        return _corrupt(torch.zeros(batch, 17, 17), how).numpy()

    tracker = SiamFCTracker(ScriptedSiamFC(responses))
    tracker.init(_frame(), [100, 80, 40, 30])
    for _ in range(3):
        out = tracker.track(_frame())
        assert isinstance(out["best_score"], float) and math.isfinite(out["best_score"]), out["best_score"]
        assert_box_sane(out["bbox"], (240, 320))
