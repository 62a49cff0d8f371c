import os

import numpy as np
import pytest

from toolkit.datasets import build_dataset
from toolkit.evaluation import evaluate_tracker
from toolkit.evaluation.vot import eao_from_curve, evaluate_vot, expected_overlap_curve, run_fragments
from toolkit.utils.results import VOTTrajectory

BOX = [10.0, 10.0, 20.0, 20.0]


def trajectory(codes):
    regions = [np.array(BOX) if c == -1 else np.array([float(c)]) for c in codes]
    return VOTTrajectory("toy", np.array(codes), regions)


def test_fragments_split_at_failures_and_pad_with_zeros():
    codes = np.array([1, -1, 2, 0, 0, 0, 0, 1, -1])
    overlaps = np.array([np.nan, 0.8, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 0.6])
    rows, spans = run_fragments(codes, overlaps, 10)
    assert spans == [(0, 3), (7, 9)]
    np.testing.assert_allclose(rows[0], [0, 0.8, 0, 0, 0, 0, 0, 0, 0, 0])  # failed: zeros forever
    np.testing.assert_allclose(rows[1][:2], [0, 0.6])  # ran to the end: unknown afterwards
    assert np.isnan(rows[1][2:]).all()


def test_expected_overlap_curve_hand_computed():
    fragments = np.array([[0, 0.5, 0.5, 0.5], [0, 1.0, 0.0, 0.0], [0, 0.2, np.nan, np.nan]])
    curve = expected_overlap_curve(fragments, np.ones(3))
    # Ns=2: (0.5 + 1 + 0.2) / 3; Ns=3: (0.5 + 0.5) / 2 (third unknown); Ns=4: (0.5 + 1/3) / 2
    np.testing.assert_allclose(curve, [1.0, 1.7 / 3, 0.5, (0.5 + 1 / 3) / 2])
    assert eao_from_curve(curve, (2, 4)) == pytest.approx((1.7 / 3 + 0.5 + (0.5 + 1 / 3) / 2) / 3)


def test_eao_on_a_two_sequence_toy():
    # Sequence A (5 frames) is tracked perfectly; B (4 frames) fails on frame 2.
    gts = {"A": np.tile(BOX, (5, 1)), "B": np.tile(BOX, (4, 1))}
    runs = {"A": [trajectory([1, -1, -1, -1, -1])], "B": [trajectory([1, -1, 2, 0])]}
    r = evaluate_vot("toy", runs, gts, {"A": None, "B": None}, interval=(2, 5), burnin=1)
    # fragments A: [., 1, 1, 1, 1]; B: [., 1, 0, 0, 0] (zero-padded after the failure)
    # expected overlap Ns=2..5: 1, (1 + 1/2)/2, (1 + 1/3)/2, (1 + 1/4)/2
    expected = np.mean([1.0, 0.75, 2 / 3, 0.625])
    assert r.eao == pytest.approx(expected)
    assert r.accuracy == pytest.approx(1.0)
    assert r.lost == 1
    assert r.robustness == pytest.approx(100 / 9)


def test_burnin_excludes_frames_after_init():
    gts = {"A": np.tile(BOX, (4, 1))}
    shifted = VOTTrajectory("toy", np.array([1, -1, -1, -1]),
                            [np.array([1.0]), np.array([20.0, 10, 20, 20]), np.array(BOX), np.array(BOX)])
    with_burnin = evaluate_vot("t", {"A": [shifted]}, gts, {"A": None}, (1, 4), burnin=2)
    without = evaluate_vot("t", {"A": [shifted]}, gts, {"A": None}, (1, 4), burnin=0)
    assert with_burnin.accuracy == pytest.approx(1.0)  # the shifted frame 1 is in the burn-in
    assert without.accuracy < 1.0


def test_vot2018_siamcar_eao(shared_data):
    dataset = build_dataset("VOT2018", os.path.join(shared_data, "VOT2018"))
    assert len(dataset) == 60 and dataset.eao_interval == (100, 356)
    assert dataset["conduction1"].gt.shape[1] == 4
    result, _ = evaluate_tracker(dataset, os.path.join(shared_data, "results", "VOT2018", "siamcar"))
    assert result.eao == pytest.approx(0.318, abs=0.001)
    assert result.lost == 66
