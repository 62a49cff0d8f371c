"""tools/test.py, tools/eval.py and tools/hp_search.py end to end on tiny synthetic benchmarks."""
import json
import os

import cv2
import numpy as np
import pytest

from pysot.datasets.synthetic import render_clip
from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")


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
        # first line: the init box, PySOT's [x + 0.5, y + 0.5, w, h] (test_init_box_is_pysots)
        np.testing.assert_allclose(boxes[0], np.add(entry["gt_rect"][0], [0.5, 0.5, 0, 0]), atol=1e-9)
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
    plots = os.listdir(str(tmp_path / "plots" / "OTB100"))  # beside --json, not among the results
    assert {"success.png", "precision.png", "success_synthetic.png"} <= set(plots)
    assert not os.path.exists(os.path.join(results, "OTB100", "plots"))
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
    assert sorted(os.listdir(os.path.join(results, "OTB100", "siamrpn_alex_tiny"))) == ["Clip0.txt", "Clip1.txt",
                                                                                         "run.json"]

    summary = str(tmp_path / "hp.json")
    assert hp.main(["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data, "--results-dir", results,
                    "--device", "cpu", "--penalty-k", "0.05", "0.2", "--window-influence", "0.4", "--lr", "0.3",
                    "--workers", "2", "--json", summary]) == 0
    ranked = json.load(open(summary))
    assert [r["penalty_k"] for r in ranked] != [] and len(ranked) == 2
    assert ranked[0]["success_auc"] >= ranked[1]["success_auc"]
    assert os.path.isdir(os.path.join(results, "OTB100", "siamrpn_alex_tiny_pk-0.050_wi-0.400_lr-0.300"))



def write_results(folder, meta, corrupt=None):
    """Ground truth as a tracker's results; ``corrupt`` = (video, line) gets an unparsable line."""
    os.makedirs(folder, exist_ok=True)
    for name, entry in meta.items():
        lines = [",".join(str(v) for v in box) for box in entry["gt_rect"]]
        if corrupt and corrupt[0] == name:
            lines[corrupt[1] - 1] = "12,abc,3,4"
        with open(os.path.join(folder, f"{name}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


def test_eval_reports_missing_results_clearly(tmp_path, log_messages):
    data = str(tmp_path / "OTB")
    make_otb_json(data, num_videos=1, num_frames=2)
    os.makedirs(tmp_path / "results" / "OTB100" / "empty")
    eval_py = load_tool("eval")
    # one line naming the folder and the video, no traceback
    assert eval_py.main(["--dataset", "OTB100", "--dataset-root", data, "--tracker-path",
                         str(tmp_path / "results" / "OTB100"), "--trackers", "empty"]) == 2
    assert any("no result file for video 'Clip0'" in m for m in log_messages)
    # without --trackers, a folder without results is no tracker: nothing to evaluate (usage error)
    assert eval_py.main(["--dataset", "OTB100", "--dataset-root", data,
                         "--tracker-path", str(tmp_path / "results" / "OTB100")]) == 2


def test_eval_leaves_out_a_broken_tracker_and_matches_names_in_any_case(tmp_path, capsys, log_messages):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results" / "OTB100")
    meta = make_otb_json(data, num_videos=2, num_frames=4)
    write_results(os.path.join(results, "Perfect"), meta)
    write_results(os.path.join(results, "Broken"), meta, corrupt=("Clip1", 3))
    eval_py = load_tool("eval")
    args = ["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--no-color"]
    # Several trackers: the broken one is named (file and line) and left out; exit code 1.
    assert eval_py.main(args) == 1
    assert any("Broken left out" in m and "Clip1.txt:3" in m for m in log_messages)
    table = capsys.readouterr().out
    # IoU 1 everywhere: success at 20 of the 21 thresholds (the last one asks IoU > 1), precision 1
    assert "| Perfect |  0.952  |   1.000   |" in table and "Broken" not in table
    # Folder names in any case; alone, the broken tracker is the error (exit 2).
    assert eval_py.main(args + ["--trackers", "perfect"]) == 0
    assert "Perfect" in capsys.readouterr().out
    assert eval_py.main(args + ["--trackers", "BROKEN"]) == 2
    assert eval_py.main(args + ["--trackers", "Nope"]) == 2
    assert any("tracker 'Nope': no such folder" in m and "Broken, Perfect" in m for m in log_messages)


def test_eval_explains_a_tracker_path_one_level_off(tmp_path, log_messages):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results")
    meta = make_otb_json(data, num_videos=1, num_frames=2)
    write_results(os.path.join(results, "OTB100", "Perfect"), meta)
    eval_py = load_tool("eval")
    base = ["--dataset", "OTB100", "--dataset-root", data, "--tracker-path"]
    assert eval_py.main(base + [os.path.join(results, "OTB100", "Perfect")]) == 2
    assert log_messages[-1].endswith(f"give its parent: --tracker-path {os.path.join(results, 'OTB100')} --trackers Perfect")
    assert eval_py.main(base + [results]) == 2
    assert log_messages[-1].endswith(f"the OTB100 results are in --tracker-path {os.path.join(results, 'OTB100')}")


def test_test_py_reports_user_errors_in_one_line(tmp_path, log_messages):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results")
    make_otb_json(data, num_videos=2, num_frames=2)
    test_py = load_tool("test")
    base = ["--config", TINY_CONFIG, "--dataset", "OTB100", "--results-dir", results, "--device", "cpu"]
    assert test_py.main(base + ["--dataset-root", str(tmp_path / "nowhere")]) == 2
    assert test_py.main(base + ["--dataset-root", data, "--video", "Clip7"]) == 2
    assert any("has no video Clip7; it has: Clip0, Clip1" in m for m in log_messages)
    assert test_py.main(base + ["--dataset-root", data, "--snapshot", str(tmp_path / "none.pth")]) == 2
    assert test_py.main(base + ["--dataset-root", data, "TRACK.NO_SUCH_KEY", "1"]) == 2
    # An annotations-only json (as shipped for evaluation) names the missing frame before building a model.
    os.remove(os.path.join(data, "Clip0", "img", "0001.jpg"))
    assert test_py.main(base + ["--dataset-root", data, "--video", "Clip0"]) == 2
    assert any("0001.jpg of video 'Clip0' not found" in m for m in log_messages)
    assert not os.path.exists(results)


def test_test_py_flags_after_overrides_and_names_in_any_case(tmp_path, log_messages):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results")
    make_otb_json(data, num_videos=2, num_frames=2)
    test_py = load_tool("test")
    assert test_py.main(["--config", TINY_CONFIG, "TRACK.LR", "0.3", "--dataset", "otb100", "--dataset-root", data,
                         "--results-dir", results, "--device", "cpu", "--video", "clip1"]) == 0
    assert sorted(os.listdir(os.path.join(results, "OTB100", "siamrpn_alex_tiny"))) == ["Clip1.txt", "run.json"]
    assert any("no --snapshot: the network keeps its random initial weights" in m for m in log_messages)
    # --video takes the names up to the first KEY; the rest are overrides (here a bad one: an error).
    args = test_py.parse_args(["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data, "TRACK.LR", "0.3",
                               "--video", "Clip0", "Clip1", "TRACK.PENALTY_K", "0.1"])
    assert args.video == ["Clip0", "Clip1"] and args.opts == ["TRACK.LR", "0.3", "TRACK.PENALTY_K", "0.1"]
    with pytest.raises(SystemExit):
        test_py.parse_args(["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data,
                            "--video", "TRACK.LR", "0.3"])


def test_vot_speed_counts_only_tracked_frames(tmp_path):
    from toolkit.runner import TrackerSpec, run_benchmark

    data = str(tmp_path / "VOT")
    make_vot_native(data)
    stats = run_benchmark(TrackerSpec(TINY_CONFIG, device="cpu"), "VOT2018", data, str(tmp_path / "out"),
                          progress=False)["clip"]
    lines = open(os.path.join(tmp_path, "out", "baseline", "clip", "clip_001.txt")).read().splitlines()
    assert stats["frames"] == 14 and stats["tracked"] == 14 - lines.count("0") < 14
    assert stats["fps"] == pytest.approx(stats["tracked"] / stats["seconds"])


def test_hp_search_defaults_to_the_config_and_keeps_the_threads(tmp_path):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results")
    make_otb_json(data, num_videos=1, num_frames=2)
    hp = load_tool("hp_search")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert hp.main(["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data, "--results-dir",
                        results, "--device", "cpu", "--penalty-k", "0.1"]) == 0
        # Without --workers the search runs in this process and keeps its threads.
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    # siamrpn_alex_tiny: WINDOW_INFLUENCE 0.40, LR 0.30
    assert os.path.isdir(os.path.join(results, "OTB100", "siamrpn_alex_tiny_pk-0.100_wi-0.400_lr-0.300"))
    assert hp.main(["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", str(tmp_path / "nowhere"),
                    "--results-dir", results]) == 2


def test_snapshot_alone_uses_the_config_it_stores(tmp_path, capsys):
    """As demo.py: a checkpoint that stores its config needs no --config; the folder is named after it."""
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results")
    make_otb_json(data, num_videos=1, num_frames=3)
    snapshot = os.path.join(REPO, "pysot", "data", "siamrpn_alex_tiny.pth")
    test_py = load_tool("test")
    assert test_py.main(["--snapshot", snapshot, "--dataset", "OTB100", "--dataset-root", data,
                         "--results-dir", results]) == 0
    out_dir = os.path.join(results, "OTB100", "siamrpn_alex_tiny")
    assert np.loadtxt(os.path.join(out_dir, "Clip0.txt"), delimiter=",").shape == (3, 4)
    assert "(stored)" in json.load(open(os.path.join(out_dir, "run.json")))["config"]
    with pytest.raises(SystemExit) as stop:  # neither: a usage error
        test_py.main(["--dataset", "OTB100", "--dataset-root", data])
    assert stop.value.code == 2 and "give --config, --snapshot or both" in capsys.readouterr().err


def test_eao_of_a_tag_without_frames_says_so():
    eval_py = load_tool("eval")
    text = eval_py.format_eao_by_tag({"all": 0.3184, "occlusion": float("nan"), "camera_motion": 0.25})
    assert text == "all 0.318, occlusion no frames, camera_motion 0.250"
