"""tools/test.py, tools/eval.py and tools/hp_search.py end to end on tiny synthetic benchmarks."""
import importlib.util
import json
import os

import cv2
import numpy as np
import pytest

from pysot.datasets.synthetic import render_clip

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f"tool_{name}", os.path.join(REPO, "tools", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_otb_json(root, num_videos=2, num_frames=5):
    meta = {}
    for k in range(num_videos):
        clip, gt = render_clip(num_frames=num_frames, size=(160, 120), seed=k)
        name = f"Clip{k}"
        names = []
        for i, img in enumerate(clip):
            rel = f"{name}/img/{i + 1:04d}.jpg"
            os.makedirs(os.path.join(root, name, "img"), exist_ok=True)
            cv2.imwrite(os.path.join(root, rel), img)
            names.append(rel)
        meta[name] = {"video_dir": name, "init_rect": gt[0].tolist(), "img_names": names,
                      "gt_rect": gt.tolist(), "attr": ["Synthetic"] if k == 0 else []}
    with open(os.path.join(root, "OTB100.json"), "w") as f:
        json.dump(meta, f)
    return meta


def make_vot_native(root, num_frames=14):
    clip, gt = render_clip(num_frames=num_frames, size=(160, 120), seed=3)
    seq = os.path.join(root, "clip")
    os.makedirs(os.path.join(seq, "color"), exist_ok=True)
    for i, img in enumerate(clip):
        cv2.imwrite(os.path.join(seq, "color", f"{i + 1:08d}.jpg"), img)
    with open(os.path.join(seq, "groundtruth.txt"), "w") as f:
        for x, y, w, h in gt:
            # Frame 6 is annotated far away from the object, so the tracker must fail there.
            f.write(",".join(f"{v:.2f}" for v in [x, y, x + w, y, x + w, y + h, x, y + h]) + "\n")
    lines = open(os.path.join(seq, "groundtruth.txt")).read().splitlines()
    lines[6] = "150,110,158,110,158,118,150,118"
    with open(os.path.join(seq, "groundtruth.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return gt


def test_ope_run_is_resumable_and_evaluates(tmp_path, capsys):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results")
    meta = make_otb_json(data)
    test_py, eval_py = load_tool("test"), load_tool("eval")
    args = ["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data,
            "--results-dir", results, "--device", "cpu"]
    assert test_py.main(args) == 0
    out_dir = os.path.join(results, "OTB100", "siamrpn_alex_tiny")
    for name, entry in meta.items():
        boxes = np.loadtxt(os.path.join(out_dir, f"{name}.txt"), delimiter=",")
        assert boxes.shape == (5, 4) and np.isfinite(boxes).all()
        np.testing.assert_allclose(boxes[0], entry["gt_rect"][0], atol=1e-3)  # first line: the init box
    # resumable: an existing result is not recomputed
    stamp = os.path.getmtime(os.path.join(out_dir, "Clip0.txt"))
    assert test_py.main(args) == 0
    assert os.path.getmtime(os.path.join(out_dir, "Clip0.txt")) == stamp

    report = str(tmp_path / "report.json")
    assert eval_py.main(["--dataset", "OTB100", "--dataset-root", data, "--tracker-path",
                         os.path.join(results, "OTB100"), "--json", report, "--plot", "--timing"]) == 0
    printed = capsys.readouterr().out
    assert "siamrpn_alex_tiny" in printed and "timing siamrpn_alex_tiny: load" in printed
    doc = json.load(open(report))
    entry = doc["trackers"]["siamrpn_alex_tiny"]
    assert set(entry["per_video"]) == {"Clip0", "Clip1"}
    assert 0 <= entry["summary"]["success_auc"] <= 1
    plots = os.listdir(os.path.join(results, "OTB100", "plots"))
    assert {"success.png", "precision.png", "success_synthetic.png"} <= set(plots)
    # the plots folder beside the trackers is not taken for a tracker on the next run
    assert eval_py.main(["--dataset", "OTB100", "--dataset-root", data, "--tracker-path",
                         os.path.join(results, "OTB100")]) == 0


def test_vot_run_detects_failure_and_reinitialises(tmp_path):
    data, results = str(tmp_path / "VOT"), str(tmp_path / "results")
    make_vot_native(data)
    test_py = load_tool("test")
    assert test_py.main(["--config", TINY_CONFIG, "--dataset", "VOT2018", "--dataset-root", data,
                         "--results-dir", results, "--device", "cpu", "--tracker-name", "tiny"]) == 0
    path = os.path.join(results, "VOT2018", "tiny", "baseline", "clip", "clip_001.txt")
    lines = open(path).read().splitlines()
    assert len(lines) == 14 and lines[0] == "1"
    # the bogus annotation of frame 6 cannot overlap the tracked object
    assert "2" in lines[:7]
    fail = lines.index("2")
    assert lines[fail + 1 : fail + 5] == ["0"] * 4 and lines[fail + 5] == "1"

    from toolkit.datasets import build_dataset
    from toolkit.evaluation import evaluate_tracker

    result, _ = evaluate_tracker(build_dataset("VOT2018", data), os.path.join(results, "VOT2018", "tiny"))
    assert result.lost == lines.count("2") >= 1
    assert np.isnan(result.eao)  # 14 frames never reach the EAO interval 100-356


@pytest.mark.slow
def test_parallel_workers_and_hp_search(tmp_path):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results")
    make_otb_json(data, num_videos=2, num_frames=3)
    test_py, hp = load_tool("test"), load_tool("hp_search")
    assert test_py.main(["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data,
                         "--results-dir", results, "--device", "cpu", "--workers", "2"]) == 0
    assert sorted(os.listdir(os.path.join(results, "OTB100", "siamrpn_alex_tiny"))) == ["Clip0.txt", "Clip1.txt"]

    summary = str(tmp_path / "hp.json")
    assert hp.main(["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data, "--results-dir", results,
                    "--device", "cpu", "--penalty-k", "0.05", "0.2", "--window-influence", "0.4", "--lr", "0.3",
                    "--workers", "2", "--json", summary]) == 0
    ranked = json.load(open(summary))
    assert [r["penalty_k"] for r in ranked] != [] and len(ranked) == 2
    assert ranked[0]["success_auc"] >= ranked[1]["success_auc"]
    assert os.path.isdir(os.path.join(results, "OTB100", "siamrpn_alex_tiny_pk-0.050_wi-0.400_lr-0.300"))


def test_eval_reports_missing_results_clearly(tmp_path):
    data = str(tmp_path / "OTB")
    make_otb_json(data, num_videos=1, num_frames=2)
    os.makedirs(tmp_path / "results" / "OTB100" / "empty")
    eval_py = load_tool("eval")
    with pytest.raises(FileNotFoundError, match="no result file for video 'Clip0'"):
        eval_py.main(["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", str(tmp_path / "results" / "OTB100"),
                      "--trackers", "empty"])
    # without --trackers, a folder without results is no tracker: nothing to evaluate
    assert eval_py.main(["--dataset", "OTB100", "--dataset-root", data,
                         "--tracker-path", str(tmp_path / "results" / "OTB100")]) == 1
