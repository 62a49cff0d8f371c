import json
import os

import numpy as np
import pytest

from toolkit.datasets import build_dataset
from toolkit.evaluation import evaluate_trackers
from toolkit.evaluation.ope import evaluate_ope
from toolkit.hp_search import Setting, check_searchable, grid_settings, random_settings
from toolkit.report import format_table, rank_key, write_json


def test_table_ranks_and_highlights_the_best():
    summaries = {
        "B": {"eao": 0.30, "accuracy": 0.60, "robustness": 0.20, "lost": 40.0},
        "A": {"eao": 0.40, "accuracy": 0.50, "robustness": 0.30, "lost": 60.0},
    }
    plain = format_table(summaries, "vot", color=False)
    rows = [line for line in plain.splitlines() if line.startswith("| ") and "Tracker" not in line]
    assert rows[0].startswith("| A ") and rows[1].startswith("| B ")
    coloured = format_table(summaries, "vot", color=True)
    row_b = next(line for line in coloured.splitlines() if line.startswith("| B "))
    # B holds the best accuracy and (lower is better) robustness and lost: three highlights
    assert row_b.count("\x1b[") >= 3


def test_undefined_scores_rank_last():
    # Videos shorter than the EAO interval give NaN EAO; such a row must not land anywhere by chance.
    nan = float("nan")
    summaries = {
        "undefined": {"eao": nan, "accuracy": 0.9, "robustness": 0.1, "lost": 1.0},
        "low": {"eao": 0.1, "accuracy": 0.5, "robustness": 0.3, "lost": 6.0},
        "high": {"eao": 0.4, "accuracy": 0.5, "robustness": 0.3, "lost": 6.0},
    }
    for order in (["undefined", "low", "high"], ["low", "undefined", "high"], ["high", "low", "undefined"]):
        ranked = sorted(order, key=lambda t: rank_key(summaries[t], "vot"))
        assert ranked == ["high", "low", "undefined"]
    rows = [line for line in format_table({t: summaries[t] for t in order}, "vot", color=False).splitlines()
            if line.startswith("| ") and "Tracker" not in line]
    assert [r.split()[1] for r in rows] == ["high", "low", "undefined"]


def test_json_report_is_machine_readable(tmp_path):
    gt = {"a": np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)}
    result = evaluate_ope("t", gt, {"a": gt["a"].copy()})
    path = str(tmp_path / "r.json")
    write_json(path, "Toy", "ope", {"t": result}, {"t": {"load_s": 0.1, "eval_s": 0.2}})
    doc = json.load(open(path))
    assert doc["trackers"]["t"]["summary"]["success_auc"] == pytest.approx(20 / 21)
    assert doc["trackers"]["t"]["per_video"]["a"]["precision"] == 1.0
    assert len(doc["trackers"]["t"]["success_curve"]) == 21


@pytest.mark.parametrize("experiment, searchable", [("siamrpn_alex_tiny", True), ("dasiamrpn_vot", True),
                                                      ("siammask_r50_l3", True), ("siamfc_alex", False)])
def test_search_refuses_trackers_that_ignore_the_parameters(experiment, searchable):
    from pysot.config import load_cfg

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cfg = load_cfg(os.path.join(repo, "experiments", experiment, "config.yaml"))
    if searchable:
        check_searchable(cfg)
    else:
        with pytest.raises(ValueError, match="SiamFCTracker does not use TRACK.PENALTY_K, TRACK.LR"):
            check_searchable(cfg)


def test_hp_settings():
    grid = grid_settings([0.04, 0.1], [0.44], [0.3, 0.4], [255, 287])
    assert len(grid) == 8
    assert Setting(0.04, 0.44, 0.4).name("siamrpn") == "siamrpn_pk-0.040_wi-0.440_lr-0.400"
    assert Setting(0.04, 0.44, 0.4, 287).opts()[-2:] == ["TRACK.INSTANCE_SIZE", "287"]
    first, again = random_settings(5, seed=3), random_settings(5, seed=3)
    assert first == again and len(set(first)) == 5  # reproducible, so a re-run resumes
    assert all(0 <= s.penalty_k <= 0.5 and 0.1 <= s.lr <= 0.8 for s in first)


def test_parallel_evaluation_matches_sequential(shared_data):
    dataset = build_dataset("OTB100", os.path.join(shared_data, "OTB100"))
    root = os.path.join(shared_data, "results", "OTB100")
    seq, _ = evaluate_trackers(dataset, root, ["SiamBAN", "SiamFC"], workers=1)
    par, _ = evaluate_trackers(dataset, root, ["SiamBAN", "SiamFC"], workers=2)
    for t in seq:
        assert seq[t].summary() == par[t].summary()
