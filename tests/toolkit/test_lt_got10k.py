import numpy as np
import pytest

from toolkit.evaluation.got10k import evaluate_got10k
from toolkit.evaluation.vot_lt import evaluate_vot_lt


def test_vot_lt_precision_recall_f():
    gt = {"a": np.array([[0, 0, 10, 10], [0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10]], float)}
    pred = {"a": np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [5, 0, 10, 10]], float)}
    conf = {"a": np.array([1.0, 0.9, 0.2, 0.5])}
    r = evaluate_vot_lt("t", gt, pred, conf)
    # Frame 0 is never reported. Raster overlaps of frames 1..3: 1, 0 (target absent),
    # 66/176 = 0.375; the target is visible on 3 frames (frame 0 included).
    # tau=0.9: P = 1, R = 1/3 -> F = 0.5; tau=0.5: P = 1.375/2, R = 1.375/3 -> F = 0.55;
    # tau=0.2 (and -inf): P = R = 1.375/3; +inf: nothing reported, P = 1, R = 0.
    assert r.f_score == pytest.approx(0.55)
    assert r.precision == pytest.approx(0.6875) and r.recall == pytest.approx(1.375 / 3)
    assert r.threshold == 0.5
    assert r.curves["thresholds"][0] == np.inf and r.curves["thresholds"][-1] == -np.inf
    assert r.curves["precision"][0] == 1.0 and r.curves["recall"][0] == 0.0


def test_vot_lt_overlap_is_bounded_by_the_image():
    # The ground truth sticks out of a 10x10 image on the left; inside it, it is the prediction.
    gt = {"a": np.array([[0, 0, 10, 10], [-10, 0, 20, 10]], float)}
    pred = {"a": np.array([[np.nan] * 4, [0, 0, 10, 10]], float)}
    conf = {"a": np.array([np.nan, 0.9])}
    bounded = evaluate_vot_lt("t", gt, pred, conf, {"a": (10, 10)})
    assert bounded.precision == pytest.approx(1.0) and bounded.f_score == pytest.approx(2 / 3)
    unbounded = evaluate_vot_lt("t", gt, pred, conf)
    assert unbounded.precision == pytest.approx(121 / 231, rel=1e-6)  # 11 x 11 of 21 x 11 pixels


def test_vot_lt_equals_pysot_f1_benchmark():
    """tests/data/toolkit/vot_lt_synthetic: two hand-made sequences whose target crosses the
    frame border (41 of 248 visible boxes stick out), with results written as PySOT's
    test.py writes them (``1`` and an empty confidence line on the first frame). The
    numbers are those of the original PySOT's F1Benchmark with the VOT toolkit's region.c."""
    import os

    from toolkit.datasets import build_dataset
    from toolkit.evaluation import evaluate_tracker

    root = os.path.join(os.path.dirname(__file__), "..", "data", "toolkit", "vot_lt_synthetic")
    dataset = build_dataset("VOT2019-LT", root)
    result, _ = evaluate_tracker(dataset, os.path.join(root, "results", "tiny"))
    assert result.f_score == pytest.approx(0.6504254192020723, abs=1e-9)
    assert result.precision == pytest.approx(0.6874391178092052, abs=1e-9)
    assert result.recall == pytest.approx(0.617193923806894, abs=1e-9)


def test_vot_lt_empty_confidence_line_only_on_the_first_frame(tmp_path):
    from toolkit.utils.results import ResultFormatError, read_confidences

    path = tmp_path / "car_001_confidence.value"
    path.write_text("\n0.5\n0.25\n")
    np.testing.assert_array_equal(read_confidences(str(path)), [np.nan, 0.5, 0.25])
    path.write_text("\n0.5\n\n0.25\n")
    with pytest.raises(ResultFormatError, match="car_001_confidence.value:3: empty line"):
        read_confidences(str(path))


def test_got10k_ao_sr():
    gt = {"a": np.tile([0, 0, 10, 10], (4, 1)).astype(float)}
    pred = {"a": np.array([[50, 50, 1, 1], [0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 8]], float)}
    r = evaluate_got10k("t", gt, pred, {"a": np.array([False, False, False, True])})
    # the first frame and the absent last frame are not scored: IoU 1 and 1/3
    assert r.ao == pytest.approx((1 + 1 / 3) / 2)
    assert r.sr50 == pytest.approx(0.5) and r.sr75 == pytest.approx(0.5)


def test_got10k_test_split_needs_the_server():
    with pytest.raises(ValueError, match="server"):
        evaluate_got10k("t", {"a": np.zeros((1, 4))}, {"a": np.zeros((1, 4))})


def test_vot_lt_results_load_from_the_longterm_layout(tmp_path):
    import os

    from toolkit.datasets import build_dataset
    from toolkit.evaluation import evaluate_tracker
    from toolkit.utils.results import write_rows, write_values

    root = tmp_path / "data"
    (root / "car").mkdir(parents=True)
    (root / "car" / "groundtruth.txt").write_text("0,0,10,10\n0,0,10,10\nnan,nan,nan,nan\n0,0,10,10\n")
    out = tmp_path / "results" / "tiny" / "longterm" / "car"
    write_rows(str(out / "car_001.txt"), [[1], [0, 0, 10, 10], [0, 0, 10, 10], [5, 0, 10, 10]])
    write_values(str(out / "car_001_confidence.value"), [1.0, 0.9, 0.2, 0.5])
    dataset = build_dataset("VOT2018-LT", str(root))
    assert dataset.protocol == "vot_lt" and dataset["car"].absent.tolist() == [False, False, True, False]
    result, _ = evaluate_tracker(dataset, os.path.join(str(tmp_path / "results"), "tiny"))
    assert result.f_score == pytest.approx(0.55)  # the same toy as above, read from files


def test_vot_lt_confidences_of_the_wrong_length_name_the_file(tmp_path):
    import os

    from toolkit.datasets import build_dataset
    from toolkit.evaluation import evaluate_tracker
    from toolkit.utils.results import ResultFormatError, write_rows, write_values

    root = tmp_path / "data"
    (root / "car").mkdir(parents=True)
    (root / "car" / "groundtruth.txt").write_text("0,0,10,10\n" * 4)
    out = tmp_path / "results" / "tiny" / "longterm" / "car"
    write_rows(str(out / "car_001.txt"), [[1], [0, 0, 10, 10], [0, 0, 10, 10], [5, 0, 10, 10]])
    write_values(str(out / "car_001_confidence.value"), [1.0, 0.9])  # two frames short
    with pytest.raises(ResultFormatError, match="car_001_confidence.value: 2 confidences"):
        evaluate_tracker(build_dataset("VOT2018-LT", str(root)), os.path.join(str(tmp_path / "results"), "tiny"))
