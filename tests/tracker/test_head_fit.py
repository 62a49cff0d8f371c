"""build_tracker refuses a TRACK.TYPE whose tracker cannot read the model's head (issue #19 item 3)."""
import os

import pytest

from pysot.config import load_cfg
from pysot.models import build_model
from pysot.tracker import build_tracker

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def experiment(name):
    return os.path.join(REPO, "experiments", name, "config.yaml")


@pytest.mark.parametrize("name, tracker, message", [
    ("siamrpn_alex_tiny", "SiamFCTracker", "SiamFCTracker reads score map but the model's head (DepthwiseRPN) "
                                           "outputs anchors; trackers for this model: DaSiamRPNTracker,"),
    ("siamrpn_alex_tiny", "NanoTracker", "NanoTracker reads points but the model's head (DepthwiseRPN) outputs anchors"),
    ("siamrpn_alex_tiny", "SiamMaskTracker", "SiamMaskTracker needs a mask head (MASK.MASK True), the model has none"),
    ("siamfc_alex", "SiamRPNTracker", "SiamRPNTracker reads anchors but the model's head (SiamFCHead) outputs score "
                                      "map; trackers for this model: SiamFCTracker"),
    ("nanotrack_v2", "SiamRPNLTTracker", "outputs points; trackers for this model: NanoTracker"),
])
@pytest.mark.parametrize("fast", [False, None])
def test_a_tracker_that_does_not_fit_the_head_is_refused(name, tracker, message, fast):
    cfg = load_cfg(experiment(name), ["TRACK.TYPE", tracker])
    model = build_model(cfg).eval()
    with pytest.raises(ValueError) as e:
        build_tracker(cfg, model, fast=fast)
    assert str(e.value).startswith(f"{experiment(name)}: TRACK.TYPE: ")
    assert message in str(e.value)


@pytest.mark.parametrize("name, tracker", [("siamrpn_alex_tiny", "DaSiamRPNTracker"),
                                           ("siamrpn_alex_tiny", "SiamRPNLTTracker"),
                                           ("siamrpn_alex_tiny", "MultiTracker")])
def test_trackers_that_fit_are_built(name, tracker):
    cfg = load_cfg(experiment(name), ["TRACK.TYPE", tracker])
    assert type(build_tracker(cfg, build_model(cfg).eval())).__name__ == tracker
