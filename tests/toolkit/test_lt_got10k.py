import os
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


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_got10k_scores_every_repetition_with_boxes_bounded_by_the_image(tmp_path):
    """The official GOT-10k toolkit's report: all ``_NNN`` runs pooled, boxes cut to ``meta_info.ini``'s
    resolution, frames with ``cover`` 0 left out. Expected values worked out by hand below."""
    from toolkit.datasets import build_dataset
    from toolkit.evaluation import evaluate_tracker

    video = "GOT-10k_Val_000001"
    seq = tmp_path / "GOT-10k" / "val" / video
    _write(str(seq / "groundtruth.txt"), "10,10,20,20\n90,10,20,20\n0,0,10,10\n5,5,10,10\n")
    _write(str(seq / "cover.label"), "8\n8\n8\n0\n")
    _write(str(seq / "absence.label"), "0\n0\n0\n0\n")  # cover.label wins: frame 3 is not scored
    _write(str(seq / "meta_info.ini"), "[METAINFO]\nobject_class: cat\nresolution: (100, 50)\n")
    runs = tmp_path / "results" / "SiamX" / video
    # frame 1: the ground truth sticks out right of the 100 px image; bounded it is [90,10,10,20] = the box (IoU 1,
    # 0.5 unbounded). Frame 2: run 1 exact (1), run 2 shifted by 5 px (50 / 150 = 1/3).
    _write(str(runs / f"{video}_001.txt"), "10,10,20,20\n90,10,10,20\n0,0,10,10\n0,0,1,1\n")
    _write(str(runs / f"{video}_002.txt"), "10,10,20,20\n90,10,10,20\n5,0,10,10\n0,0,1,1\n")
    _write(str(runs / f"{video}_time.txt"), "0.01,0.01\n0.01,0.01\n0.01,0.01\n0.01,0.01\n")

    dataset = build_dataset("GOT-10k", str(tmp_path / "GOT-10k"))
    assert dataset[video].image_size() == (100, 50)
    result, _ = evaluate_tracker(dataset, str(tmp_path / "results" / "SiamX"))
    assert result.ao == pytest.approx((1 + 1 + 1 + 1 / 3) / 4)
    assert result.sr50 == pytest.approx(0.75) and result.sr75 == pytest.approx(0.75)
    assert result.per_video[video]["repetitions"] == 2
    assert result.success_curve.shape == (101,) and result.success_curve[0] == pytest.approx(1.0)


def test_got10k_bounding_moves_a_box_left_of_the_image_keeping_its_width():
    from toolkit.evaluation.got10k import bound_boxes

    np.testing.assert_allclose(bound_boxes(np.array([[-10.0, 45, 20, 10]]), (100, 50)), [[0, 45, 20, 5]])
