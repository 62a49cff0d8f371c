"""Long-term SiamRPN: both state transitions driven by a hand-built score sequence."""
from __future__ import annotations

import numpy as np
import pytest

from pysot.tracker import SiamRPNLTTracker
from tracker_helpers import ScriptedRPN, assert_box_sane

#            frame: 1     2     3     4      5     6
SCORES = [None, 0.90, 0.50, 0.90, 0.999, 0.90, 0.70]
LOW, HIGH = 0.8, 0.998


def _model():
    # Best proposal: the square anchor, one stride right of the map centre, asking to move right.
    def peaks(frame, is_target, n):
        return [(2, n // 2, n // 2 + 1, SCORES[frame], (0.0, 0.0, 0.0, 0.0))]
    return ScriptedRPN(peaks)


def _frame():
    return np.random.default_rng(3).integers(0, 255, (240, 320, 3), dtype=np.uint8)


def test_lost_and_found_transitions():
    model = _model()
    tracker = SiamRPNLTTracker(model, confidence_low=LOW, confidence_high=HIGH, lost_instance_size=831)
    tracker.init(_frame(), [100, 100, 40, 30])
    lost, moved = [], []
    for _ in range(len(SCORES) - 1):
        before = tracker.center_pos.copy()
        out = tracker.track(_frame())
        assert_box_sane(out["bbox"], (240, 320))
        assert out["best_score"] == pytest.approx(SCORES[len(lost) + 1], abs=1e-6)
        lost.append(out["lost"])
        assert tracker.lost is tracker.longterm_state is out["lost"]  # one flag, DaSiamRPN's name too
        moved.append(bool(tracker.center_pos[0] != before[0]))
    # 0.50 < LOW enters the lost state; 0.90 is not enough to leave it; 0.999 > HIGH leaves it.
    assert lost == [False, True, True, False, False, True]
    # The crop follows the state of the previous frame.
    assert model.search_sizes == [255, 255, 831, 831, 255, 255]
    # Low scores never move the target; confident ones do (also while lost).
    assert moved == [True, False, True, True, True, False]


def test_lost_search_barely_uses_the_window():
    # While lost a far proposal with a slightly higher score beats a central one.
    def peaks(frame, is_target, n):
        if frame == 1:
            return [(2, n // 2, n // 2, 0.5, (0, 0, 0, 0))]
        return [(2, n // 2, n // 2, 0.9, (0, 0, 0, 0)), (2, 2, 2, 0.95, (0, 0, 0, 0))]

    tracker = SiamRPNLTTracker(ScriptedRPN(peaks), confidence_low=LOW, confidence_high=HIGH)
    tracker.init(_frame(), [150, 100, 40, 30])
    assert tracker.track(_frame())["lost"]
    assert tracker.track(_frame())["best_score"] == pytest.approx(0.95, abs=1e-6)


def test_bad_thresholds_rejected():
    with pytest.raises(ValueError, match="confidence_low"):
        SiamRPNLTTracker(_model(), confidence_low=0.9, confidence_high=0.5)
