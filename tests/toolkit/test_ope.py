import os

import numpy as np
import pytest

from toolkit.datasets import build_dataset
from toolkit.evaluation import evaluate_tracker
from toolkit.evaluation.ope import SUCCESS_THRESHOLDS, evaluate_ope


def test_success_and_precision_hand_computed():
    gt = {"a": np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)}
    # IoU 1, 1/3, 0 and a missing box; centre errors 0, 5, 30, inf
    pred = {"a": np.array([[0, 0, 10, 10], [5, 0, 10, 10], [30, 0, 10, 10], [np.nan] * 4], float)}
    r = evaluate_ope("t", gt, pred)
    expected = np.array([int(1 > t) + int(1 / 3 > t) + int(0 > t) for t in SUCCESS_THRESHOLDS]) / 4
    np.testing.assert_allclose(r.success[0], expected)
    assert r.auc == pytest.approx(expected.mean())
    # within 20 px: errors 0 and 5 of 4 frames
    assert r.precision_at_20 == pytest.approx(0.5)
    np.testing.assert_allclose(r.precision[0, [0, 4, 5, 29, 30]], [0.25, 0.25, 0.5, 0.5, 0.75])


def test_videos_weigh_equally_and_invalid_gt_counts_as_a_miss():
    gt = {
        "long": np.tile([0, 0, 10, 10], (8, 1)).astype(float),
        "short": np.array([[0, 0, 10, 10], [0, 0, 0, 0]], float),
    }
    pred = {"long": gt["long"].copy(), "short": np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)}
    r = evaluate_ope("t", gt, pred)
    # long: success 1 everywhere except t=1; short: half its frames (the invalid gt) miss
    long_curve = (SUCCESS_THRESHOLDS < 1).astype(float)
    np.testing.assert_allclose(r.success[0], long_curve)
    np.testing.assert_allclose(r.success[1], long_curve / 2)
    assert r.auc == pytest.approx((long_curve.mean() + long_curve.mean() / 2) / 2)


def test_normalized_precision():
    gt = {"a": np.array([[0, 0, 100, 10], [0, 0, 100, 10]], float)}
    pred = {"a": np.array([[10, 0, 100, 10], [0, 3, 100, 10]], float)}  # normalized errors 0.1 and 0.3
    r = evaluate_ope("t", gt, pred, normalized_precision=True)
    np.testing.assert_allclose(r.norm_precision[0], [0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1, 1])
    assert r.norm_precision_at_02 == pytest.approx(0.5)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="t/a: 1 boxes for 2 frames"):
        evaluate_ope("t", {"a": np.zeros((2, 4))}, {"a": np.zeros((1, 4))})


def test_otb100_siamban_published_numbers(shared_data):
    dataset = build_dataset("OTB100", os.path.join(shared_data, "OTB100"))
    result, _ = evaluate_tracker(dataset, os.path.join(shared_data, "results", "OTB100", "SiamBAN"))
    assert round(result.auc, 3) == 0.696
    assert round(result.precision_at_20, 3) == 0.910


def test_otb100_siamfc_loads_despite_name_quirks(shared_data):
    dataset = build_dataset("OTB100", os.path.join(shared_data, "OTB100"))
    result, _ = evaluate_tracker(dataset, os.path.join(shared_data, "results", "OTB100", "SiamFC"))
    assert len(result.videos) == 100
    assert {"Jogging-1", "Jogging-2", "Skating2-1", "Skating2-2", "Human4-2"} <= set(result.videos)
    assert result.auc == pytest.approx(0.587, abs=0.002)  # the SiamFC paper's OTB-2015 AUC


def test_otb_subsets(shared_data):
    root = os.path.join(shared_data, "OTB100")
    assert len(build_dataset("OTB2013", root)) == 51
    assert len(build_dataset("OTB50", root)) == 50


def test_lasot_dimp50(shared_data):
    dataset = build_dataset("LaSOT", os.path.join(shared_data, "LaSOT"))
    assert len(dataset) == 280
    result, _ = evaluate_tracker(dataset, os.path.join(shared_data, "results", "LaSOT", "DiMP50"))
    assert result.auc == pytest.approx(0.572, abs=0.005)
    assert result.norm_precision is not None
