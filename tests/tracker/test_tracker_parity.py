"""Tracker parity with the original PySOT / DaSiamRPN runs recorded in tests/data/parity."""
from __future__ import annotations

import numpy as np
import pytest

from parity import load_video
from tracker_helpers import dasiamrpn_cfg_and_model, fixture_cfg_and_model

BOX_TOL = 0.05
SCORE_TOL = 1e-4
MASK_TOL = 1e-3
MASK_OUTLIERS = 8  # pixels per frame allowed above MASK_TOL (float32 noise, see test_siammask_parity)
MASK_MAX_ERR = 5e-3


def _check_run(tracker, fx, frames, limit=None):
    boxes, scores = fx["boxes"], fx["scores"]
    n = len(boxes) if limit is None else limit
    tracker.init(frames[0], boxes[0])
    outputs = []
    for i in range(1, n):
        out = tracker.track(frames[i])
        box_err = np.abs(np.asarray(out["bbox"]) - boxes[i]).max()
        assert box_err <= BOX_TOL, f"frame {i}: box {out['bbox']} vs {boxes[i]} (err {box_err:.4f})"
        assert abs(out["best_score"] - scores[i]) <= SCORE_TOL, f"frame {i}: score {out['best_score']} vs {scores[i]}"
        outputs.append(out)
    return outputs


def _run_pysot_fixture(name, limit=None):
    from pysot.tracker import build_tracker

    cfg, model, fx = fixture_cfg_and_model(name)
    frames, _ = load_video()
    tracker = build_tracker(cfg, model)
    return tracker, _check_run(tracker, fx, frames, limit), fx


def test_siamrpn_alex_parity():
    _run_pysot_fixture("siamrpn_alex_dwxcorr")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["siamrpn_r50_l234_dwxcorr", "siamrpn_r50_l234_dwxcorr_otb"])
def test_siamrpn_r50_parity(name):
    _run_pysot_fixture(name)


@pytest.mark.slow
def test_siamrpn_mobilenet_parity():
    _run_pysot_fixture("siamrpn_mobilev2_l234_dwxcorr")


@pytest.mark.slow
def test_siammask_parity():
    tracker, outputs, fx = _run_pysot_fixture("siammask_r50_l3")
    for i, out in enumerate(outputs):
        err = np.abs(out["mask"] - fx["masks"][i])
        # The refine head's logits reach +-2.8e4 on the synthetic weights, so float32
        # rounding alone moves a few edge pixels: the float64 run of this model differs
        # from the fixture by up to 2.7e-3 on single pixels. All but a handful of the
        # 76,800 pixels must meet 1e-3, none may exceed 5e-3.
        assert (err > MASK_TOL).sum() <= MASK_OUTLIERS, f"frame {i + 1}: {(err > MASK_TOL).sum()} pixels off"
        assert err.max() <= MASK_MAX_ERR, f"frame {i + 1}: mask differs by {err.max()}"
        assert out["mask"].shape == fx["masks"][i].shape and out["mask"].dtype == np.float32
        assert len(out["polygon"]) == 8 and np.all(np.isfinite(out["polygon"]))


@pytest.mark.slow
def test_siamrpn_lt_parity_first_frames():
    """Frames 1-3: tracked, then a low score (0.78 < 0.8) enters the lost state, then one 831-px search."""
    tracker, outputs, fx = _run_pysot_fixture("siamrpn_r50_l234_dwxcorr_lt", limit=4)
    assert [o["lost"] for o in outputs] == [False, True, True]


@pytest.mark.slow
def test_siamrpn_lt_parity_full_sequence():
    """All 23 frames: 21 of them searched on 831-px ResNet-50 crops (about 100 s on 2 cores)."""
    tracker, outputs, fx = _run_pysot_fixture("siamrpn_r50_l234_dwxcorr_lt")
    assert [o["lost"] for o in outputs] == [False] + [True] * (len(fx["boxes"]) - 2)


@pytest.mark.parametrize("name", ["dasiamrpn_vot", "dasiamrpn_big"])
def test_dasiamrpn_release_parity(name):
    from pysot.tracker import DaSiamRPNTracker, build_tracker

    cfg, model, fx = dasiamrpn_cfg_and_model(name)
    params = fx["tracker_params"]
    tracker = build_tracker(cfg, model)
    assert isinstance(tracker, DaSiamRPNTracker)
    # The experiment YAML must carry the release's settings.
    assert (tracker.lr, tracker.window_influence, tracker.penalty_k) == pytest.approx(
        (params["lr"], params["window_influence"], params["penalty_k"]))
    assert tracker.legacy_rounding and not tracker.distractor and not tracker.global_search
    assert tracker.small_object_instance_size == (params["small_object_instance_size"] if params["adaptive"] else 0)
    frames, _ = load_video()
    _check_run(tracker, fx, frames)
    assert tracker.instance_size == params["instance_size"]  # 2% of the frame: not a small object
