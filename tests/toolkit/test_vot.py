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
    # As PySOT: a failed fragment runs to the re-initialisation frame (included) for its tag weight.
    assert spans == [(0, 8, 8.0), (7, 9, pytest.approx(2.0))]
    np.testing.assert_allclose(rows[0], [0, 0.8, 0, 0, 0, 0, 0, 0, 0, 0])  # failed: zeros forever
    np.testing.assert_allclose(rows[1][:2], [0, 0.6])  # ran to the end: unknown afterwards
    assert np.isnan(rows[1][2:]).all()


def test_failure_whose_reinitialisation_falls_past_the_end_does_not_cut():
    # PySOT's EAO benchmark: a failure counts only when failure + 5 <= sequence length.
    overlaps = np.array([np.nan, 0.8, 0.7, np.nan, np.nan, np.nan])
    rows, spans = run_fragments(np.array([1, -1, -1, 2, 0, 0]), overlaps, 8)
    assert len(rows) == 1 and spans[0][:2] == (0, 6)
    np.testing.assert_allclose(rows[0][:6], [0, 0.8, 0.7, 0, 0, 0])
    assert np.isnan(rows[0][6:]).all()  # not zero-padded: the tracker was never re-initialised
    # failure + 5 == length: it cuts, and the (empty) last fragment weighs nothing.
    rows, spans = run_fragments(np.array([1, -1, 2, 0, 0, 0, 0]), np.r_[np.nan, 0.8, [np.nan] * 5], 8)
    np.testing.assert_allclose(rows[0], [0, 0.8, 0, 0, 0, 0, 0, 0])
    assert np.isnan(rows[1]).all() and spans[1][:2] == (7, 7) and spans[1][2] < 1e-15


def test_expected_overlap_curve_hand_computed():
    fragments = np.array([[0, 0.5, 0.5, 0.5], [0, 1.0, 0.0, 0.0], [0, 0.2, np.nan, np.nan]])
    curve = expected_overlap_curve(fragments, np.ones(3))
    # Ns=2: (0.5 + 1 + 0.2) / 3; Ns=3: (0.5 + 0.5) / 2 (third unknown); Ns=4: (0.5 + 1/3) / 2
    np.testing.assert_allclose(curve, [1.0, 1.7 / 3, 0.5, (0.5 + 1 / 3) / 2])
    assert eao_from_curve(curve, (2, 4)) == pytest.approx((1.7 / 3 + 0.5 + (0.5 + 1 / 3) / 2) / 3)


def test_eao_on_a_two_sequence_toy():
    # Sequence A (5 frames) is tracked perfectly; B (9 frames) fails on frame 2 and is
    # re-initialised on frame 7.
    gts = {"A": np.tile(BOX, (5, 1)), "B": np.tile(BOX, (9, 1))}
    runs = {"A": [trajectory([1, -1, -1, -1, -1])], "B": [trajectory([1, -1, 2, 0, 0, 0, 0, 1, -1])]}
    r = evaluate_vot("toy", runs, gts, {"A": None, "B": None}, interval=(2, 5), burnin=1)
    # fragments A: [., 1, 1, 1, 1]; B: [., 1, 0, 0, 0, ...] (zero-padded after the failure)
    # and [., 1] from frame 7. Expected overlap Ns=2..5: 1, (1 + 1/2)/2, (1 + 1/3)/2, (1 + 1/4)/2
    expected = np.mean([1.0, 0.75, 2 / 3, 0.625])
    assert r.eao == pytest.approx(expected)
    assert r.accuracy == pytest.approx(1.0)
    assert r.lost == 1
    assert r.robustness == pytest.approx(100 / 14)


def test_burnin_excludes_frames_after_init():
    gts = {"A": np.tile(BOX, (4, 1))}
    shifted = VOTTrajectory("toy", np.array([1, -1, -1, -1]),
                            [np.array([1.0]), np.array([20.0, 10, 20, 20]), np.array(BOX), np.array(BOX)])
    with_burnin = evaluate_vot("t", {"A": [shifted]}, gts, {"A": None}, (1, 4), burnin=2)
    without = evaluate_vot("t", {"A": [shifted]}, gts, {"A": None}, (1, 4), burnin=0)
    assert with_burnin.accuracy == pytest.approx(1.0)  # the shifted frame 1 is in the burn-in
    assert without.accuracy < 1.0


EXCERPT = os.path.join(os.path.dirname(__file__), "..", "data", "toolkit", "vot2018_excerpt")


def test_vot2018_excerpt_equals_pysot_toolkit():
    """ball2, drone_flip, leaves of VOT2018 with SiamCAR's results (tests/data/toolkit/vot2018_excerpt):
    the numbers of the original PySOT's AR and EAO benchmarks run with the VOT toolkit's region.c.
    Small targets (the rasterisation) and leaves' failure 3 frames before the end (EAO fragments)."""
    dataset = build_dataset("VOT2018", EXCERPT)
    result, _ = evaluate_tracker(dataset, os.path.join(EXCERPT, "results", "siamcar"))
    assert result.accuracy == pytest.approx(0.5042607740015912, abs=1e-9)
    assert result.lost == 5 and result.robustness == pytest.approx(2.3041474654377883)
    assert result.eao == pytest.approx(0.07120176138622421, abs=1e-8)
    pysot_video_accuracy = {"ball2": 0.6318455692380667, "drone_flip": 0.5223400880043444,
                            "leaves": 0.42095871087981435}
    for video, acc in pysot_video_accuracy.items():
        assert result.per_video[video]["accuracy"] == pytest.approx(acc, abs=1e-9)
    pysot_tags = {"camera_motion": 0.10136452583330018, "motion_change": 0.10818132225956235,
                  "size_change": 0.07060794212988444}
    for tag, eao in pysot_tags.items():
        assert result.eao_by_tag[tag] == pytest.approx(eao, abs=1e-8)
    assert np.isnan(result.eao_by_tag["occlusion"])  # no occluded frame in these three videos (PySOT: NaN)


def test_vot2018_siamcar_equals_pysot_toolkit(shared_data):
    """All 60 videos: PySOT's toolkit (with region.c) gives accuracy 0.5714348, 66 failures,
    robustness 0.309047, EAO 0.3180314 and these per-tag EAOs."""
    dataset = build_dataset("VOT2018", os.path.join(shared_data, "VOT2018"))
    assert len(dataset) == 60 and dataset.eao_interval == (100, 356)
    assert dataset["conduction1"].gt.shape[1] == 4
    result, _ = evaluate_tracker(dataset, os.path.join(shared_data, "results", "VOT2018", "siamcar"))
    assert result.accuracy == pytest.approx(0.5714348114650517, abs=1e-9)
    assert result.lost == 66
    assert result.robustness == pytest.approx(0.3090466379471811, abs=1e-9)
    assert result.eao == pytest.approx(0.31803141569117166, abs=1e-8)
    pysot_tags = {"camera_motion": 0.3055472558342529, "illum_change": 0.3603722414849797,
                  "motion_change": 0.27408085085074724, "size_change": 0.28344775597177124,
                  "occlusion": 0.23964177924371416}
    for tag, eao in pysot_tags.items():
        assert result.eao_by_tag[tag] == pytest.approx(eao, abs=1e-8)
