"""MultiTracker: N targets through one batched forward == N single trackers."""
import copy

import numpy as np
import pytest

from parity import load_video
from pysot.models.fast import optimize_for_inference
from pysot.tracker import MultiTracker, SiamRPNLTTracker, SiamRPNTracker, build_tracker
from tracker.tracker_helpers import fixture_cfg_and_model

BOX_TOL = 0.05
SCORE_TOL = 1e-4


def _boxes(gt0):
    return [list(gt0), [gt0[0] + 30, gt0[1] + 12, gt0[2] + 6, gt0[3] - 4], [20.0, 30.0, 40.0, 50.0]]


def _compare(multi, singles, frames, num_frames):
    for i in range(1, num_frames):
        results = multi.track(frames[i])
        assert len(results) == len(singles)
        for k, single in enumerate(singles):
            expected = single.track(frames[i])
            assert set(results[k]) == set(expected)
            assert np.abs(np.asarray(results[k]["bbox"]) - expected["bbox"]).max() <= BOX_TOL, (i, k)
            assert abs(results[k]["best_score"] - expected["best_score"]) <= SCORE_TOL, (i, k)
            if "lost" in expected:
                assert results[k]["lost"] == expected["lost"]


@pytest.mark.parametrize("fast", [pytest.param(False, marks=pytest.mark.slow), True])
def test_multi_tracker_matches_single_trackers(fast):
    cfg, model, _ = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    if fast:
        model = optimize_for_inference(model, "cpu", search_size=cfg.TRACK.INSTANCE_SIZE)
    # The multi-tracker owns its model's template cache: the singles get their own copy.
    multi_model = copy.deepcopy(model)
    frames, gt = load_video()
    boxes = _boxes(gt[0])
    singles = []
    for box in boxes:
        tracker = build_tracker(cfg, model)
        tracker.init(frames[0], box)
        singles.append(tracker)
    # The singles share the model, so each must re-template before its frame: wrap them.
    singles = [_Retemplating(t) for t in singles]
    multi = MultiTracker.from_config(cfg, multi_model)
    multi.init(frames[0], boxes)
    assert len(multi) == 3 and isinstance(multi.targets[0], SiamRPNTracker)
    _compare(multi, singles, frames, 8)


class _Retemplating:
    """A single tracker whose shared model gets its own template back before each frame."""

    def __init__(self, tracker):
        self.tracker = tracker

    def track(self, img):
        self.tracker.model.template(self.tracker.z_crop)
        return self.tracker.track(img)


@pytest.mark.slow
def test_multi_tracker_long_term_groups_by_search_size():
    """Lost targets search larger crops: one batch per crop size, results still equal the singles'."""
    cfg, model, _ = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    kwargs = dict(SiamRPNTracker.config_kwargs(cfg), lost_instance_size=351, confidence_low=0.68,
                  confidence_high=0.8)
    frames, gt = load_video()
    boxes = _boxes(gt[0])
    singles = []
    for box in boxes:
        tracker = SiamRPNLTTracker(model, **kwargs)
        tracker.init(frames[0], box)
        singles.append(_Retemplating(tracker))
    multi = MultiTracker(copy.deepcopy(model), target_tracker="SiamRPNLTTracker", **kwargs)
    multi.init(frames[0], boxes)
    sizes = []
    for i in range(1, 7):
        sizes.append(sorted({t._instance_size() for t in multi.targets}))
        _compare(multi, singles, frames[i - 1 : i + 1], 2)
    assert any(len(s) == 2 for s in sizes), f"no frame mixed normal and lost targets: {sizes}"


def test_multi_tracker_registry_and_errors():
    cfg, model, _ = fixture_cfg_and_model("siamrpn_alex_dwxcorr", ["TRACK.TYPE", "MultiTracker"])
    multi = build_tracker(cfg, model)
    assert isinstance(multi, MultiTracker) and multi.tracker_cls is SiamRPNTracker
    frames, gt = load_video()
    with pytest.raises(RuntimeError, match="before init"):
        multi.track(frames[1])
    with pytest.raises(ValueError, match="target 1"):
        multi.init(frames[0], [gt[0], [0, 0, -5, 10]])
    with pytest.raises(ValueError, match="no target"):
        multi.init(frames[0], [])
    with pytest.raises(ValueError, match="not supported"):
        MultiTracker(model, target_tracker="SiamMaskTracker")
    with pytest.raises(TypeError):
        MultiTracker(model, not_a_setting=1)
