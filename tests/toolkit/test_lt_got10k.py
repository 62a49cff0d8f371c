import numpy as np
import pytest

from toolkit.evaluation.got10k import evaluate_got10k
from toolkit.evaluation.vot_lt import evaluate_vot_lt


def test_vot_lt_precision_recall_f():
    gt = {"a": np.array([[0, 0, 10, 10], [0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10]], float)}
    pred = {"a": np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [5, 0, 10, 10]], float)}
    conf = {"a": np.array([1.0, 0.9, 0.2, 0.5])}
    r = evaluate_vot_lt("t", gt, pred, conf)
    # frames 1..3 scored; IoU 1, 0 (target absent), 1/3; present frames: 1 and 3
    # tau=0.9: P = 1, R = 1/2 -> F = 2/3; tau=0.5: P = (1 + 1/3)/2, R = (1 + 1/3)/2 -> F = 2/3;
    # tau=0.2: P = (4/3)/3, R = 2/3 -> F = 0.5926
    assert r.f_score == pytest.approx(2 / 3)
    np.testing.assert_allclose(r.curves["thresholds"], [0.2, 0.5, 0.9])
    np.testing.assert_allclose(r.curves["precision"], [4 / 9, 2 / 3, 1.0])
    np.testing.assert_allclose(r.curves["recall"], [2 / 3, 2 / 3, 0.5])


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
    assert result.f_score == pytest.approx(2 / 3)  # the same toy as above, read from files


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
