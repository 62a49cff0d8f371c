"""``state["raw_bbox"]``: every tracker reports the original's unclipped box beside the displayed one."""
from __future__ import annotations

import numpy as np
import pytest

from pysot.tracker import (DaSiamRPNTracker, MultiTracker, SiamFCTracker, SiamMaskTracker, SiamRPNLTTracker,
                           SiamRPNTracker)
from pysot.tracker.base_tracker import clip_box_xywh
from test_siammask_tracker import ScriptedMaskModel
from tracker_helpers import ScriptedRPN, ScriptedSiamFC

SHAPE = (240, 320)
INIT = [-10.0, 100.0, 40.0, 40.0]  # centre x = 9.5: the reported box starts 10.5 px left of the image


def _frame():
    return np.random.default_rng(4).integers(0, 255, SHAPE + (3,), dtype=np.uint8)


def _rpn():
    # The square anchor one stride left of the map centre: the target keeps moving out to the left.
    return ScriptedRPN(lambda f, t, n: [(2, n // 2, n // 2 - 1, 0.95, (0.0, 0.0, 0.0, 0.0))])


def _siamfc():
    def responses(frame, batch):
        maps = np.zeros((batch, 17, 17), np.float32)
        maps[:, 8, 6] = 1.0
        return maps
    return ScriptedSiamFC(responses)


TRACKERS = {
    "SiamRPNTracker": lambda clip: SiamRPNTracker(_rpn(), clip_box_to_image=clip),
    "SiamRPNLTTracker": lambda clip: SiamRPNLTTracker(_rpn(), clip_box_to_image=clip),
    "DaSiamRPNTracker": lambda clip: DaSiamRPNTracker(_rpn(), clip_box_to_image=clip, legacy_rounding=True),
    "SiamMaskTracker": lambda clip: SiamMaskTracker(ScriptedMaskModel(), clip_box_to_image=clip),
    "SiamFCTracker": lambda clip: SiamFCTracker(_siamfc(), clip_box_to_image=clip),
}


def _run(make, clip, frames=3):
    tracker = make(clip)
    tracker.init(_frame(), INIT)
    return [tracker.track(_frame()) for _ in range(frames)]


@pytest.mark.parametrize("name", sorted(TRACKERS))
def test_raw_bbox_is_unclipped_and_bbox_follows_the_setting(name):
    clipped = _run(TRACKERS[name], True)
    raw = _run(TRACKERS[name], False)
    for on, off in zip(clipped, raw):
        assert on["raw_bbox"] == off["raw_bbox"] == off["bbox"]  # the setting changes the display only
        assert on["raw_bbox"][0] < 0  # sticks out of the left border ...
        assert on["bbox"] == pytest.approx(clip_box_xywh(on["raw_bbox"], SHAPE))  # ... the shown box does not
        assert on["bbox"][0] == 0.0 and all(isinstance(v, float) for v in on["raw_bbox"])


def test_multi_tracker_results_carry_raw_bbox():
    single = _run(TRACKERS["SiamRPNTracker"], True, frames=1)[0]
    multi = MultiTracker(_rpn(), target_tracker="SiamRPNTracker", clip_box_to_image=True)
    multi.init(_frame(), [INIT])
    out, = multi.track(_frame())
    assert out["raw_bbox"] == single["raw_bbox"] and out["raw_bbox"][0] < 0 and out["bbox"][0] == 0.0


def test_long_term_state_is_not_clipped_but_its_report_is():
    """PySOT's long-term tracker keeps the centre where the target went (here left of the image)
    and reports the box of the clipped state; the short-term tracker clips its state."""
    lt = SiamRPNLTTracker(_rpn(), clip_box_to_image=False)
    st = SiamRPNTracker(_rpn(), clip_box_to_image=False)
    reports = {}
    for tracker in (lt, st):
        tracker.init(_frame(), INIT)
        reports[tracker] = [tracker.track(_frame()) for _ in range(6)][-1]["raw_bbox"]
    assert lt.center_pos[0] < 0 and st.center_pos[0] == 0.0
    for x, _, w, _ in reports.values():
        assert x + w / 2 == 0.0  # both report a centre held at the border
