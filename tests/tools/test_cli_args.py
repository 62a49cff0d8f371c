"""One spelling of config and overrides in every tool (pysot.apps.cli), demo --snapshot alone,
eval --plot's default folder."""
import json
import os

import numpy as np
import pytest

from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")
TINY_SNAPSHOT = os.path.join(REPO, "pysot", "data", "siamrpn_alex_tiny.pth")

# the arguments each tool requires besides the config
REQUIRED = {
    "demo": [],
    "test": ["--dataset", "OTB100", "--dataset-root", "d"],
    "train": [],
    "hp_search": ["--dataset", "OTB100", "--dataset-root", "d"],
    "export_onnx": [],
    "eval_snapshots": ["--snapshot-dir", "s", "--dataset", "OTB100", "--dataset-root", "d"],
    "real_data_proof": ["--train", "a", "--test", "b", "--work", "w"],
}


@pytest.mark.parametrize("tool", sorted(REQUIRED))
@pytest.mark.parametrize("spelling", [
    ["--cfg", "X.yaml", "--opts", "TRACK.LR", "0.3", "TRACK.PENALTY_K", "-0.1"],
    ["--config", "X.yaml", "TRACK.LR", "0.3", "TRACK.PENALTY_K", "-0.1"],
    ["--opts", "TRACK.LR", "0.3", "--cfg", "X.yaml", "TRACK.PENALTY_K", "-0.1"],
])
def test_every_tool_accepts_both_spellings(tool, spelling):
    args = load_tool(tool).parse_args(spelling + REQUIRED[tool])
    assert args.config == "X.yaml"
    assert sorted(zip(args.opts[::2], args.opts[1::2])) == [("TRACK.LR", "0.3"), ("TRACK.PENALTY_K", "-0.1")]


def test_flags_may_follow_overrides():
    args = load_tool("train").parse_args(["--cfg", "X.yaml", "--opts", "TRAIN.EPOCH", "2", "--device", "cpu"])
    assert args.opts == ["TRAIN.EPOCH", "2"] and args.device == "cpu"
    args = load_tool("test").parse_args(["--config", "X.yaml", "--video", "a", "b", "TRACK.LR", "0.3", "--no-fast"]
                                        + REQUIRED["test"])
    assert args.video == ["a", "b"] and args.opts == ["TRACK.LR", "0.3"] and args.fast is False


def test_fast_switch_defaults_to_the_config():
    demo = load_tool("demo")
    assert demo.parse_args([]).fast is None  # None: TRACK.FAST decides (on)
    assert demo.parse_args(["--no-fast"]).fast is False and demo.parse_args(["--fast"]).fast is True
    with pytest.raises(SystemExit):
        demo.parse_args(["--fast", "--no-fast"])


def test_demo_snapshot_alone_uses_the_stored_config(tmp_path, capsys):
    out = str(tmp_path / "out.mp4")
    rc = load_tool("demo").main(["--snapshot", TINY_SNAPSHOT, "--no-display", "--max-frames", "4", "--output", out,
                                 "TRACK.LR", "0.3"])
    assert rc == 0 and os.path.getsize(out) > 0
    assert "tracked 3 frames" in capsys.readouterr().out


def test_demo_snapshot_without_a_stored_config_names_the_fix(tmp_path, log_messages):
    import torch

    bare = tmp_path / "bare.pth"
    torch.save(torch.load(TINY_SNAPSHOT, weights_only=True)["state_dict"], bare)  # like a PySOT model-zoo file
    rc = load_tool("demo").main(["--snapshot", str(bare), "--no-display", "--max-frames", "2"])
    assert rc == 2
    # one line, naming the file and the fix (the pysot logger's own handler sees each record once;
    # caplog's view of a non-propagating logger depends on the pytest version)
    errors = [m for m in log_messages if "stores no config" in m]
    assert errors == [f"{bare}: the checkpoint stores no config; pass the experiment YAML "
                      "(--config experiments/<name>/config.yaml)"]


def _otb_benchmark(root):
    gt = np.array([[10, 10, 20, 20], [11, 10, 20, 20], [12, 11, 20, 20], [13, 12, 20, 20]], dtype=float)
    meta = {"Clip0": {"video_dir": "Clip0", "init_rect": gt[0].tolist(),
                      "img_names": [f"Clip0/img/{i:04d}.jpg" for i in range(1, 5)],
                      "gt_rect": gt.tolist(), "attr": []}}
    os.makedirs(root / "data")
    (root / "data" / "OTB100.json").write_text(json.dumps(meta))
    tracker = root / "published" / "OTB100" / "SomeoneElse"
    os.makedirs(tracker)
    np.savetxt(tracker / "Clip0.txt", gt + 1, fmt="%.1f", delimiter=",")
    return str(root / "data"), str(root / "published" / "OTB100")


def test_eval_plots_never_go_into_the_results_folder(tmp_path, monkeypatch):
    data, results = _otb_benchmark(tmp_path)
    before = sorted(os.listdir(results))
    monkeypatch.chdir(tmp_path)
    eval_py = load_tool("eval")
    assert eval_py.main(["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--plot"]) == 0
    assert sorted(os.listdir(results)) == before
    assert os.listdir(tmp_path / "plots" / "OTB100")
    report = tmp_path / "reports" / "otb.json"
    assert eval_py.main(["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--plot",
                         "--json", str(report)]) == 0
    assert os.listdir(tmp_path / "reports" / "plots" / "OTB100") and sorted(os.listdir(results)) == before
