"""Result layouts in common use, UAV123's native attribute files and tools/eval.py's exit codes."""
import os

import pytest

from tool_loader import load_tool
from toolkit.datasets import DatasetError, build_dataset
from toolkit.evaluation import evaluate_tracker, find_trackers
from toolkit.utils.results import NameIndex

BOXES = [[10, 20, 30, 40], [12, 21, 30, 40], [14, 22, 30, 40]]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def box_lines(boxes):
    return "".join(",".join(f"{v:.4f}" for v in b) + "\n" for b in boxes)



def got10k_val(root, names=("GOT-10k_Val_000001", "GOT-10k_Val_000002")):
    for name in names:
        write(os.path.join(root, "val", name, "groundtruth.txt"), box_lines(BOXES))
        write(os.path.join(root, "val", name, "absence.label"), "0\n0\n0\n")
    write(os.path.join(root, "val", "list.txt"), "\n".join(names) + "\n")


def test_got10k_toolkit_layout_video_folders_with_runs(tmp_path, capsys):
    # <tracker>/<video>/<video>_001.txt (+ _time.txt), as the GOT-10k toolkit and PySOT's
    # test.py write them; the second video's box is off by half its width on frames 1-2.
    data, results = str(tmp_path / "GOT-10k"), str(tmp_path / "results" / "GOT-10k")
    got10k_val(data)
    shifted = [BOXES[0]] + [[x + 15, y, w, h] for x, y, w, h in BOXES[1:]]
    for name, boxes in (("GOT-10k_Val_000001", BOXES), ("GOT-10k_Val_000002", shifted)):
        write(os.path.join(results, "SiamX", name, f"{name}_001.txt"), box_lines(boxes))
        write(os.path.join(results, "SiamX", name, f"{name}_time.txt"), "0.01\n0.01\n0.01\n")
    assert find_trackers(results) == ["SiamX"]
    result, _ = evaluate_tracker(build_dataset("GOT-10k", data), os.path.join(results, "SiamX"))
    assert result.ao == pytest.approx((2 * 1.0 + 2 * (15 * 40) / (45 * 40)) / 4)
    eval_py = load_tool("eval")
    assert eval_py.main(["--dataset", "GOT-10k", "--dataset-root", data, "--tracker-path", results, "--no-color"]) == 0
    assert "SiamX" in capsys.readouterr().out


@pytest.mark.parametrize("prefix, video", [
    ("uav", "bike1"), ("nfs", "Gymnastics"), ("otb", "Basketball"), ("lasot", "airplane-1"),
    ("got10k", "GOT-10k_Val_000001"),
])
def test_pytracking_dataset_prefixes(tmp_path, prefix, video):
    write(str(tmp_path / f"{prefix}_{video}.txt"), box_lines(BOXES))
    path = NameIndex(str(tmp_path), ".txt").find(video)
    assert path is not None and os.path.basename(path) == f"{prefix}_{video}.txt"


def test_pytracking_named_uav_results_are_scored(tmp_path):
    data = str(tmp_path / "UAV123")
    write(os.path.join(data, "anno", "UAV123", "bike1.txt"), box_lines(BOXES))
    write(os.path.join(data, "anno", "UAV123", "car1_1.txt"), box_lines(BOXES))
    tracker = tmp_path / "results" / "UAV123" / "dimp50"
    write(str(tracker / "uav_bike1.txt"), box_lines(BOXES))
    write(str(tracker / "uav_car1_1.txt"), box_lines(BOXES))
    result, _ = evaluate_tracker(build_dataset("UAV123", data), str(tracker))
    assert result.videos == ["bike1", "car1_1"]
    assert result.summary()["success_auc"] == pytest.approx(20 / 21)


def test_uav123_native_attribute_files(tmp_path):
    data = str(tmp_path / "UAV123")
    write(os.path.join(data, "anno", "UAV123", "bike1.txt"), box_lines(BOXES))
    write(os.path.join(data, "anno", "UAV123", "boat1.txt"), box_lines(BOXES))
    # one line of 12 flags: SV ARC LR FM FOC POC OV BC IV VC CM SOB
    write(os.path.join(data, "anno", "UAV123", "att", "bike1.txt"), "1,0,0,1,0,0,0,0,0,0,0,1\n")
    write(os.path.join(data, "anno", "UAV123", "att", "boat1.txt"), "0,0,0,1,0,0,0,0,0,0,1,0\n")
    dataset = build_dataset("UAV123", data)
    assert dataset["bike1"].attributes == ["Scale Variation", "Fast Motion", "Similar Object"]
    assert dataset["boat1"].attributes == ["Fast Motion", "Camera Motion"]
    assert dataset.attributes == ["Camera Motion", "Fast Motion", "Scale Variation", "Similar Object"]
    write(os.path.join(data, "anno", "UAV123", "att", "boat1.txt"), "0,0,1\n")
    with pytest.raises(DatasetError, match="att.boat1.txt: expected 12 attribute flags, got 3"):
        build_dataset("UAV123", data)


def test_uav123_native_attributes_give_per_attribute_plots(tmp_path):
    data, results = str(tmp_path / "UAV123"), str(tmp_path / "results" / "UAV123")
    write(os.path.join(data, "anno", "UAV123", "bike1.txt"), box_lines(BOXES))
    write(os.path.join(data, "anno", "UAV123", "att", "bike1.txt"), "0 0 0 1 0 0 0 0 0 0 0 0\n")
    write(os.path.join(results, "SiamX", "bike1.txt"), box_lines(BOXES))
    plots = str(tmp_path / "plots")
    eval_py = load_tool("eval")
    assert eval_py.main(["--dataset", "UAV123", "--dataset-root", data, "--tracker-path", results,
                         "--plot", "--plot-dir", plots, "--no-color"]) == 0
    assert any("fast" in name.lower() for name in os.listdir(plots))


def otb_with_trackers(tmp_path, trackers):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results" / "OTB100")
    write(os.path.join(data, "Biker", "groundtruth_rect.txt"), box_lines(BOXES))
    for name, text in trackers.items():
        write(os.path.join(results, name, "Biker.txt"), text)
    return ["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--no-color"]


def test_eval_exit_codes(tmp_path, log_messages):
    eval_py = load_tool("eval")
    good, bad = box_lines(BOXES), "1,2,3,4\nforty\n5,6,7,8\n"
    # Some trackers left out, the others scored: 1.
    assert eval_py.main(otb_with_trackers(tmp_path / "a", {"Good": good, "Bad": bad})) == 1
    # Nothing could be done: a usage error, 2 -- every tracker broken ...
    assert eval_py.main(otb_with_trackers(tmp_path / "b", {"Bad1": bad, "Bad2": bad})) == 2
    assert "no tracker could be evaluated" in log_messages[-1]
    # ... or no tracker folder at all.
    args = otb_with_trackers(tmp_path / "c", {})
    os.makedirs(args[5], exist_ok=True)
    assert eval_py.main(args) == 2
    assert "no tracker folders" in log_messages[-1]
    assert eval_py.main(otb_with_trackers(tmp_path / "d", {"Good": good})) == 0
